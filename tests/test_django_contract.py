"""
Django's own tests decide whether MemCachierCache is a Django cache backend.

The backend tests Django runs against each of its memcached backends
(BaseMemcachedTests, in tests/cache/tests.py) and the cached-session tests
(CacheDBSessionTests and CacheSessionTests, in tests/sessions_tests/tests.py),
from the source distribution of the Django version pinned in
requirements.txt, fetched with pip when the tests run. They run in
tests/django_contract_runner.py on real memcached servers in three
configurations: one server, three (sharded), and one that requires a SASL
login. The cached_db session tests also run on this project's session
engine, config/sessions.py (ProjectSessionTests).

Plain django-bmemcached, which MemCachierCache is built on, runs in the same
harness beside it: the control that shows these tests can fail. The README
gives both counts.
"""

import json
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import django
import pytest

from tests.services import Memcached, write_sasl_conf

ROOT = Path(__file__).resolve().parent.parent
CONFIGURATIONS = ["one server", "three servers", "SASL"]
BACKENDS = {
    "MemCachierCache": "config.memcached.MemCachierCache",
    "plain django-bmemcached": "django_bmemcached.memcached.BMemcached",
}
SASL_USER, SASL_PASSWORD = "contract-user", "contract-Pw-6e1d0b"
# Django skips these for every memcached backend: culling is memcached's own business.
SKIPPED_BY_DJANGO = [
    "BackendTests.test_cull",
    "BackendTests.test_cull_delete_when_store_empty",
    "BackendTests.test_zero_cull",
]
COUNTS = {"BackendTests": 59, "CacheDBSessionTests": 70, "CacheSessionTests": 70, "ProjectSessionTests": 70}


def pinned_django_version():
    (version,) = re.findall(r"^Django==(\S+)$", (ROOT / "requirements.txt").read_text(), re.MULTILINE)
    return version


@pytest.fixture(scope="module")
def django_tests(tmp_path_factory):
    """tests/ of Django's sdist, for the version requirements.txt pins, fetched now."""
    version = pinned_django_version()
    assert django.__version__ == version, "the installed Django is not the pinned one"
    folder = tmp_path_factory.mktemp("django-sdist")
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
    (sdist,) = folder.glob("[dD]jango-*.tar.gz")
    wanted = (f"django-{version}/tests/cache/", f"django-{version}/tests/sessions_tests/")
    with tarfile.open(sdist) as archive:
        members = [member for member in archive.getmembers() if member.name.startswith(wanted)]
        archive.extractall(folder, members=members, filter="data")
    return folder / f"django-{version}" / "tests"


def start_servers(configuration):
    """(servers, login arguments): memcached started for one run of its own."""
    if configuration == "one server":
        return [Memcached().start()], []
    if configuration == "three servers":
        return [Memcached().start() for _ in range(3)], []
    folder = write_sasl_conf({SASL_USER: SASL_PASSWORD})
    server = Memcached(sasl_conf_dir=folder).start()
    server.sasl_folder = folder
    return [server], ["--username", SASL_USER, "--password", SASL_PASSWORD]


@pytest.fixture(scope="module")
def reports(django_tests, tmp_path_factory):
    """{(backend, configuration): report}: every run at once, each on servers of its own.

    Django's tests spend most of their time sleeping (expiry is in seconds),
    so the six runs overlap instead of queueing.
    """
    folder = tmp_path_factory.mktemp("contract-reports")
    runs = {}
    try:
        for backend_name, backend in BACKENDS.items():
            for configuration in CONFIGURATIONS:
                servers, login = start_servers(configuration)
                report = folder / f"{backend_name}-{configuration}.json".replace(" ", "-")
                log = open(folder / f"{report.stem}.log", "w")
                addresses = ",".join(server.address for server in servers)
                process = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "tests.django_contract_runner",
                        str(django_tests),
                        backend,
                        addresses,
                        str(report),
                        *login,
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
                server.stop()
                if hasattr(server, "sasl_folder"):
                    shutil.rmtree(server.sasl_folder)
    results = {}
    for key, (process, _, report, log) in runs.items():
        assert process.returncode == 0, Path(log.name).read_text()[-3000:]
        results[key] = json.loads(report.read_text())
        print(f"{key[0]}, {key[1]}: {len(results[key]['failed'])} of {results[key]['ran']} failed")
    return results


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_memcachier_cache_passes_every_one_of_djangos_tests(reports, configuration):
    report = reports["MemCachierCache", configuration]
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
