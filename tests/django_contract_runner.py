"""
Run Django's own cache-backend and cached-session tests against one cache
backend, on real memcached servers, and write what failed as JSON.

    python -m tests.django_contract_runner DJANGO_TESTS BACKEND SERVERS REPORT [--username U --password P]

DJANGO_TESTS is the tests/ folder of Django's source distribution, which
tests/test_django_contract.py fetches with pip. The tests are Django's, run
as Django runs them against its own memcached backends: this module only
configures Django (DATABASE_URL for the database) and picks the classes,
and runs Django's cached_db session tests on this project's session engine
(config/sessions.py) as well.
"""

import argparse
import json
import os
import sys
import unittest


def configure(args):
    import dj_database_url
    import django
    from django.conf import settings

    database = dj_database_url.parse(os.environ["DATABASE_URL"])
    # Runs can overlap: each gets a test database of its own.
    database["TEST"] = {"NAME": f"test_django_contract_{os.getpid()}"}
    options = {"username": args.username, "password": args.password} if args.username else {}
    settings.configure(
        SECRET_KEY="django-contract-tests-only",
        DATABASES={"default": database},
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "django.contrib.sessions",
            # Django's test apps, from DJANGO_TESTS.
            "cache",
            "sessions_tests",
        ],
        CACHES={"default": {"BACKEND": args.backend, "LOCATION": args.servers.split(","), "OPTIONS": options}},
        # As in Django's own test settings (tests/test_sqlite.py).
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        USE_TZ=False,
    )
    django.setup()


def classes_to_run():
    from cache import tests as cache_tests
    from django.conf import settings
    from django.test import TestCase, override_settings
    from sessions_tests.tests import CacheDBSessionTests, CacheSessionTests

    from config.sessions import SessionStore as ProjectSessionStore

    params = settings.CACHES["default"]

    # Exactly how Django declares PyLibMCCacheTests and PyMemcacheCacheTests.
    @override_settings(
        CACHES=cache_tests.caches_setting_for_tests(base=params, exclude=cache_tests.memcached_excluded_caches)
    )
    class BackendTests(cache_tests.BaseMemcachedTests, TestCase):
        base_params = params
        # The one deviation, the one Django grants PyLibMCCache: bmemcached
        # keeps one connection per thread open across requests, so close()
        # is a no-op (django-bmemcached's own choice) and request_finished
        # must not disconnect.
        should_disconnect_on_close = False

    class ProjectSessionTests(CacheDBSessionTests):
        """Django's cached_db tests, on this project's engine (config/sessions.py)."""

        backend = ProjectSessionStore

    return [BackendTests, CacheDBSessionTests, CacheSessionTests, ProjectSessionTests]


def name_of(test):
    # A failing subTest is reported once per subtest: count its test once.
    test = getattr(test, "test_case", test)
    return f"{type(test).__name__}.{test._testMethodName}"


def run(args):
    configure(args)
    from django.test.runner import DiscoverRunner

    loader = unittest.TestLoader()
    classes = classes_to_run()
    suite = unittest.TestSuite(loader.loadTestsFromTestCase(cls) for cls in classes)
    runner = DiscoverRunner(verbosity=1, interactive=False)
    runner.setup_test_environment()
    databases = runner.setup_databases()
    try:
        result = runner.run_suite(suite)
    finally:
        runner.teardown_databases(databases)
        runner.teardown_test_environment()
    failed = sorted({name_of(test) for test, _ in result.failures + result.errors})
    counts = {cls.__name__: loader.loadTestsFromTestCase(cls).countTestCases() for cls in classes}
    return {
        "backend": args.backend,
        "servers": args.servers.split(","),
        "tests": counts,
        "ran": result.testsRun,
        "failed": failed,
        "skipped": sorted(name_of(test) for test, _ in result.skipped),
    }


def main(argv):
    parser = argparse.ArgumentParser(prog="python -m tests.django_contract_runner")
    parser.add_argument("django_tests", help="the tests/ folder of Django's source distribution")
    parser.add_argument("backend")
    parser.add_argument("servers", help="host:port[,host:port...]")
    parser.add_argument("report", help="where to write the JSON report")
    parser.add_argument("--username")
    parser.add_argument("--password")
    args = parser.parse_args(argv)
    sys.path.insert(0, args.django_tests)
    report = run(args)
    with open(args.report, "w") as out:
        json.dump(report, out, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
