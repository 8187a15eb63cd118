"""
Django's own cached_db session tests, on this project's session engine
(tasks/sessions.py), as ProjectSessionTests.

They run in harness/django_suites.py (--session-engine tasks.sessions) on
real memcached servers in three configurations: one server, three
(sharded), and one that requires a SASL login, on the test run's PostgreSQL
(DATABASE_URL). The backend's own run of Django's cache and session tests
is memcachier_cache/tests/test_django_contract.py.

On plain django-bmemcached the same engine fails some of them: the control
that shows these tests can fail.
"""

import pytest

from harness.django_suites import CONFIGURATIONS, fetch_installed_django_tests, run_everywhere

BACKENDS = {
    "MemCachierCache": "memcachier_cache.MemCachierCache",
    "plain django-bmemcached": "django_bmemcached.memcached.BMemcached",
}
COUNTS = {"ProjectSessionTests": 70}


@pytest.fixture(scope="module")
def django_tests(tmp_path_factory):
    """tests/ of Django's sdist, for the Django installed (as pinned), fetched now."""
    return fetch_installed_django_tests(tmp_path_factory.mktemp("django-sdist"))


@pytest.fixture(scope="module")
def reports(django_tests, tmp_path_factory):
    """{(backend, configuration): report}: every run at once, each on servers of its own."""
    folder = tmp_path_factory.mktemp("session-suite-reports")
    return run_everywhere(django_tests, BACKENDS, folder, ["--session-engine", "tasks.sessions"])


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_the_projects_session_engine_passes_every_one_of_djangos_cached_db_tests(reports, configuration):
    report = reports["MemCachierCache", configuration]
    assert report["database"] == "postgresql"
    assert report["tests"] == COUNTS
    assert report["ran"] == sum(COUNTS.values())
    assert report["failed"] == []
    assert report["skipped"] == []


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_on_plain_bmemcached_it_fails_them_the_control(reports, configuration):
    # The same engine, tests and servers: what MemCachierCache fixes.
    report = reports["plain django-bmemcached", configuration]
    assert report["ran"] == sum(COUNTS.values())
    assert "ProjectSessionTests.test_actual_expiry" in report["failed"]  # an expired session is still served
