"""What Django's error reports (the DEBUG error page, error emails) may show."""

import re

from django.views.debug import SafeExceptionReporterFilter


class CredentialsFilter(SafeExceptionReporterFilter):
    """Hide user names too: half of a credential.

    Django already hides settings and request.META entries named like a key,
    token or password (MEMCACHIER_PASSWORD, CACHES' "password"). The memcached
    "username" in CACHES, MEMCACHIER_USERNAME in the environment (runserver
    puts it in request.META) and the database USER would still be shown.
    """

    hidden_settings = re.compile(
        SafeExceptionReporterFilter.hidden_settings.pattern + "|USER(NAME)?$", flags=re.IGNORECASE
    )
