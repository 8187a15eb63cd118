"""
Django's own tests decide whether MemCachierCache is a Django cache backend.

The backend tests Django runs against each of its memcached backends
(BaseMemcachedTests, in tests/cache/tests.py) and the cached-session tests
(CacheDBSessionTests and CacheSessionTests, in tests/sessions_tests/tests.py),
from the source distribution of the Django version installed (pinned in
requirements.txt, or requirements-lts.txt for 5.2 LTS), fetched with pip
when the tests run: each Django line runs its own tests. They run in
harness/django_suites.py on real memcached servers in three
configurations: one server, three (sharded), and one that requires a SASL
login; on DATABASE_URL's database, or SQLite in memory when the backend's
tests run alone (`make test-backend`). An app's own session engine runs
Django's session tests in the app's tests (this project's:
tests/test_sessions_django_suite.py).

Plain django-bmemcached, which MemCachierCache is built on, runs in the same
harness beside it: the control that shows these tests can fail.
memcachier_cache/README.md gives both counts.
"""

import os

import django
import pytest

from harness.django_suites import CONFIGURATIONS, fetch_installed_django_tests, run_everywhere

BACKENDS = {
    "MemCachierCache": "memcachier_cache.MemCachierCache",
    "plain django-bmemcached": "django_bmemcached.memcached.BMemcached",
}
# Django skips these for every memcached backend: culling is memcached's own business.
SKIPPED_BY_DJANGO = [
    "BackendTests.test_cull",
    "BackendTests.test_cull_delete_when_store_empty",
    "BackendTests.test_zero_cull",
]
# Per Django line: 6.1 added 8 tests of the async methods to BaseCacheTests.
# On a line not listed every test fails, showing the counts to check.
COUNTS = {
    (5, 2): {"BackendTests": 59, "CacheDBSessionTests": 70, "CacheSessionTests": 70},
    (6, 1): {"BackendTests": 67, "CacheDBSessionTests": 70, "CacheSessionTests": 70},
}.get(django.VERSION[:2], {})


@pytest.fixture(scope="module")
def django_tests(tmp_path_factory):
    """tests/ of Django's sdist, for the Django installed (as pinned), fetched now."""
    return fetch_installed_django_tests(tmp_path_factory.mktemp("django-sdist"))


@pytest.fixture(scope="module")
def reports(django_tests, tmp_path_factory):
    """{(backend, configuration): report}: every run at once, each on servers of its own."""
    return run_everywhere(django_tests, BACKENDS, tmp_path_factory.mktemp("contract-reports"))


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_memcachier_cache_passes_every_one_of_djangos_tests(reports, configuration):
    report = reports["MemCachierCache", configuration]
    assert report["database"] == ("postgresql" if os.environ.get("DATABASE_URL") else "sqlite")
    assert report["tests"] == COUNTS
    assert report["ran"] == sum(COUNTS.values())
    assert report["failed"] == []
    assert report["skipped"] == SKIPPED_BY_DJANGO


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_plain_bmemcached_fails_them_the_control(reports, configuration):
    # The same tests, the same servers: what MemCachierCache fixes.
    report = reports["plain django-bmemcached", configuration]
    assert report["ran"] == sum(COUNTS.values())
    failed = set(report["failed"])
    for test in (
        "BackendTests.test_default_used_when_none_is_set",  # a stored None reads as a miss
        "BackendTests.test_delete_nonexistent",  # delete of a missing key says True
        "BackendTests.test_incr",  # incr of a missing key creates it
        "BackendTests.test_touch",  # no touch at all
        "BackendTests.test_zero_timeout",  # timeout 0 keeps the value
        "CacheDBSessionTests.test_actual_expiry",  # an expired session is still served
    ):
        assert test in failed
