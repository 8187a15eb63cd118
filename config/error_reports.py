"""What Django's error reports (the DEBUG error page, error emails) may show."""

import re

from django.views.debug import SafeExceptionReporterFilter

# The user:password@ (or :password@) of a URL such as DATABASE_URL.
URL_CREDENTIALS = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]*@")


class CredentialsFilter(SafeExceptionReporterFilter):
    """Hide user names, and the credentials inside URLs, too.

    Django already hides settings and request.META entries named like a key,
    token or password (MEMCACHIER_PASSWORD, CACHES' "password"). The memcached
    "username" in CACHES, MEMCACHIER_USERNAME in the environment (runserver
    puts it in request.META) and the database USER would still be shown, and
    so would the password inside DATABASE_URL, or any other URL that carries
    user:password@: any setting or environment variable, whatever its name.
    """

    hidden_settings = re.compile(
        SafeExceptionReporterFilter.hidden_settings.pattern + "|USER(NAME)?$", flags=re.IGNORECASE
    )

    def cleanse_setting(self, key, value):
        cleansed = super().cleanse_setting(key, value)
        if isinstance(cleansed, str):
            return URL_CREDENTIALS.sub(rf"\g<scheme>{self.cleansed_substitute}@", cleansed)
        return cleansed
