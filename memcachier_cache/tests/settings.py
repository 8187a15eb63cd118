"""
Django settings for the backend's own tests: a memcached server and nothing
of any app.

    MEMCACHIER_SERVERS=127.0.0.1:11211 python -m pytest memcachier_cache/tests --ds=memcachier_cache.tests.settings

(`make test-backend` starts the memcached and runs exactly that.) The
tests start any other server they need themselves: a SASL one, several,
a hung one.
"""

import os

SECRET_KEY = os.environ.get("SECRET_KEY") or "memcachier-cache-tests-only-" + "x" * 40
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
INSTALLED_APPS = []
USE_TZ = True

CACHES = {
    "default": {
        "BACKEND": "memcachier_cache.MemCachierCache",
        "LOCATION": os.environ["MEMCACHIER_SERVERS"].split(","),
        # A prefix long enough that a key of 120 two-byte characters passes
        # Django's check (in characters) and not memcached's (in bytes).
        "KEY_PREFIX": "memcachier_cache_tests",
        "TIMEOUT": 24 * 60 * 60,
        "OPTIONS": {"socket_timeout": 0.25, "pickle_protocol": 5},
    }
}
