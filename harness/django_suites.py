"""
Run Django's own cache-backend and cached-session tests against one cache
backend, on real memcached servers, and write what failed as JSON.

    python -m harness.django_suites DJANGO_TESTS BACKEND SERVERS REPORT
        [--username U --password P] [--session-engine MODULE]

DJANGO_TESTS is the tests/ folder of Django's source distribution, of the
Django this Python runs (fetch_installed_django_tests): 6.1's tests on 6.1,
5.2's on 5.2. The tests are Django's, run as Django runs them against its
own memcached backends: this module only configures Django and picks the
classes. Deprecation warnings are errors in each run, as in pytest.ini.
The database is DATABASE_URL's, or SQLite in memory without it.

By default it runs the backend tests (BaseMemcachedTests, as BackendTests)
and the cached-session tests (CacheDBSessionTests, CacheSessionTests):
memcachier_cache/tests/test_django_contract.py. With --session-engine, only
the session tests of that engine's kind (cached_db or cache), on that
engine (ProjectSessionTests): an app's engine, named by its dotted path and
imported only then (tests/test_sessions_django_suite.py).

run_everywhere() runs this for several backends in each configuration (one
server, three, SASL) at once, each on memcached servers of its own.
"""

import argparse
import json
import os
import subprocess
import sys
import tarfile
import unittest
from pathlib import Path

from harness.services import Memcached

ROOT = Path(__file__).resolve().parent.parent
CONFIGURATIONS = ["one server", "three servers", "SASL"]
SASL_USER, SASL_PASSWORD = "contract-user", "contract-Pw-6e1d0b"
# pytest.ini's filterwarnings, for the runs' own processes. On the command
# line, not warnings.simplefilter(): unittest's runner resets the filters to
# "default" unless the interpreter was given -W options.
DEPRECATIONS_AS_ERRORS = ["-W", "error::DeprecationWarning", "-W", "error::PendingDeprecationWarning"]


# --- the runs, from a test ------------------------------------------------------


def fetch_installed_django_tests(folder):
    """fetch_django_tests() for the Django this Python runs: the version
    its requirements file pins exactly (requirements.txt, requirements-lts.txt)."""
    import django

    return fetch_django_tests(django.__version__, folder)


def fetch_django_tests(version, folder):
    """tests/ of Django's sdist for `version` (only cache/ and sessions_tests/), fetched with pip into folder."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--no-binary",
            ":all:",
            f"Django=={version}",
            "--dest",
            str(folder),
        ],
        check=True,
    )
    (sdist,) = Path(folder).glob("[dD]jango-*.tar.gz")
    wanted = (f"django-{version}/tests/cache/", f"django-{version}/tests/sessions_tests/")
    with tarfile.open(sdist) as archive:
        members = [member for member in archive.getmembers() if member.name.startswith(wanted)]
        archive.extractall(folder, members=members, filter="data")
    return Path(folder) / f"django-{version}" / "tests"


def start_servers(configuration):
    """(servers, login arguments): memcached started for one run of its own."""
    if configuration == "one server":
        return [Memcached().start()], []
    if configuration == "three servers":
        return [Memcached().start() for _ in range(3)], []
    server = Memcached.requiring_login({SASL_USER: SASL_PASSWORD}).start()
    return [server], ["--username", SASL_USER, "--password", SASL_PASSWORD]


def run_everywhere(django_tests, backends, folder, options=()):
    """{(backend name, configuration): report} for every backend of
    backends ({name: dotted path}) in every configuration, with `options`
    (such as --session-engine) for each run.

    Every run at once, each in a process and on servers of its own: Django's
    tests spend most of their time sleeping (expiry is in seconds), so the
    runs overlap instead of queueing.
    """
    import django

    runs = {}
    try:
        for backend_name, backend in backends.items():
            for configuration in CONFIGURATIONS:
                servers, login = start_servers(configuration)
                report = Path(folder) / f"{backend_name}-{configuration}.json".replace(" ", "-")
                log = open(Path(folder) / f"{report.stem}.log", "w")
                addresses = ",".join(server.address for server in servers)
                process = subprocess.Popen(
                    [
                        sys.executable,
                        *DEPRECATIONS_AS_ERRORS,
                        "-m",
                        "harness.django_suites",
                        str(django_tests),
                        backend,
                        addresses,
                        str(report),
                        *login,
                        *options,
                    ],
                    cwd=ROOT,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
                runs[backend_name, configuration] = (process, servers, report, log)
        for process, *_ in runs.values():
            process.wait(timeout=600)
    finally:
        for process, servers, _, log in runs.values():
            if process.poll() is None:
                process.kill()
            log.close()
            for server in servers:
                server.remove()
    results = {}
    for key, (process, _, report, log) in runs.items():
        assert process.returncode == 0, Path(log.name).read_text()[-3000:]
        report = results[key] = json.loads(report.read_text())
        classes = ", ".join(f"{name} {count}" for name, count in report["tests"].items())
        print(
            f"{key[0]}, {key[1]}, Django {django.__version__}: {report['ran']} ran ({classes}), "
            f"{len(report['failed'])} failed, {len(report['skipped'])} skipped"
        )
    return results


# --- one run, in a process of its own -------------------------------------------


def configure(args):
    import django
    from django.conf import settings

    if os.environ.get("DATABASE_URL"):
        import dj_database_url

        database = dj_database_url.parse(os.environ["DATABASE_URL"])
        # Runs can overlap: each gets a test database of its own.
        database["TEST"] = {"NAME": f"test_django_contract_{os.getpid()}"}
    else:
        # In memory: each run's process has its own.
        database = {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
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


def classes_to_run(session_engine=None):
    from cache import tests as cache_tests
    from django.conf import settings
    from django.contrib.sessions.backends import cache as cache_sessions
    from django.contrib.sessions.backends import cached_db
    from django.test import TestCase, override_settings
    from django.utils.module_loading import import_string
    from sessions_tests.tests import CacheDBSessionTests, CacheSessionTests

    if session_engine:
        store = import_string(f"{session_engine}.SessionStore")
        if issubclass(store, cached_db.SessionStore):
            base = CacheDBSessionTests
        elif issubclass(store, cache_sessions.SessionStore):
            base = CacheSessionTests
        else:
            raise SystemExit(f"{session_engine}: not a cache or cached_db session engine")

        class ProjectSessionTests(base):
            """Django's session tests of the engine's kind, on the engine."""

            backend = store

        return [ProjectSessionTests]

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

    return [BackendTests, CacheDBSessionTests, CacheSessionTests]


def name_of(test):
    # A failing subTest is reported once per subtest: count its test once.
    test = getattr(test, "test_case", test)
    return f"{type(test).__name__}.{test._testMethodName}"


def run(args):
    configure(args)
    from django.test.runner import DiscoverRunner

    loader = unittest.TestLoader()
    classes = classes_to_run(args.session_engine)
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
        "database": connection_vendor(),
        "tests": counts,
        "ran": result.testsRun,
        "failed": failed,
        "skipped": sorted(name_of(test) for test, _ in result.skipped),
    }


def connection_vendor():
    from django.db import connection

    return connection.vendor


def main(argv):
    parser = argparse.ArgumentParser(prog="python -m harness.django_suites")
    parser.add_argument("django_tests", help="the tests/ folder of Django's source distribution")
    parser.add_argument("backend")
    parser.add_argument("servers", help="host:port[,host:port...]")
    parser.add_argument("report", help="where to write the JSON report")
    parser.add_argument("--username")
    parser.add_argument("--password")
    parser.add_argument(
        "--session-engine",
        metavar="MODULE",
        help="run only the session tests, on this engine (its SessionStore), as ProjectSessionTests",
    )
    args = parser.parse_args(argv)
    sys.path.insert(0, args.django_tests)
    report = run(args)
    with open(args.report, "w") as out:
        json.dump(report, out, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
