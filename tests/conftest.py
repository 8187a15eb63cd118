import collections
import shutil

import pytest
from django.core.cache import cache, caches
from django.db import connection
from django.test import Client

from harness.services import Gunicorn, Memcached, write_sasl_conf
from memcachier_cache.server import NOOP, Health, Server
from tasks import list_version


@pytest.fixture(autouse=True)
def empty_cache():
    """Every test starts with an empty memcached (flush_all), owing it nothing.

    A test that made memcached unreachable may leave this process skipping
    a server (memcachier_cache/server.py) or owing a version bump
    (tasks/list_version.py); after a flush there is nothing stale.
    """
    Health.forget_all()
    cache.clear()
    list_version._owed.forgive()
    yield


class HttpsClient(Client):
    """Production settings redirect plain HTTP; Heroku's router says HTTPS like this."""

    def __init__(self, **defaults):
        super().__init__(HTTP_X_FORWARDED_PROTO="https", HTTP_HOST="testserver", **defaults)


@pytest.fixture
def client():
    return HttpsClient()


@pytest.fixture
def csrf_client():
    return HttpsClient(enforce_csrf_checks=True)


class MemcachedMeter:
    """Round trips (client side) and operations (memcached's own stats)."""

    def __init__(self):
        self.round_trips = 0
        self.ops = collections.Counter()

    def stats(self):
        totals = collections.Counter()
        for stats in cache.server_stats().values():
            for name in ("cmd_get", "get_hits", "get_misses", "cmd_set", "delete_hits", "delete_misses"):
                totals[name] += int(stats[name])
        return totals

    def settle(self):
        """memcached does each connection's commands in order, but connections
        in parallel: a round trip on each of this thread's connections makes
        sure their quiet writes are done before the counts are read."""
        for alias in ("default", "template_fragments"):
            if hasattr(caches[alias], "server_stats"):  # not a DummyCache
                for server in caches[alias]._cache.servers:
                    server.exchange(server.packet(NOOP), last=0)

    def __enter__(self):
        self.settle()
        self._before = self.stats()
        self.round_trips = 0
        self._counting = True
        return self

    def __exit__(self, *exc):
        self._counting = False
        self.settle()
        after = self.stats()
        self.ops = collections.Counter({k: after[k] - self._before[k] for k in after})

    @property
    def gets(self):
        return self.ops["cmd_get"]

    @property
    def sets(self):
        return self.ops["cmd_set"]


@pytest.fixture
def memcached_meter(monkeypatch):
    """Counts the round trips to memcached: each exchange waits for one answer.
    (Quiet writes, which no one waits for, are no round trip.)"""
    meter = MemcachedMeter()
    meter._counting = False
    original_exchange = Server.exchange

    def counting_exchange(self, *args, **kwargs):
        if meter._counting:
            meter.round_trips += 1
        return original_exchange(self, *args, **kwargs)

    monkeypatch.setattr(Server, "exchange", counting_exchange)
    return meter


def database_url():
    """DATABASE_URL of pytest-django's test database, for an app in another process."""
    settings_dict = connection.settings_dict
    return f"postgres://{settings_dict['USER']}@{settings_dict['HOST']}:{settings_dict['PORT']}/{settings_dict['NAME']}"


@pytest.fixture(params=["gthread", "sync"])
def worker_class(request):
    """gunicorn's worker model: each test under load runs with both, the
    threaded one config/gunicorn.py uses and the sync one."""
    return request.param


@pytest.fixture
def rig(tmp_path, django_db_setup, worker_class):
    """rig(memcached=1, seed_tasks=0, ...) -> a started harness.faults.rig.Rig.

    The app under gunicorn (2 workers) on the test database and memcached
    servers of its own, to stop, kill or hang; memcached=0 runs it on the
    embedded file cache. Everything is stopped after the test. Tests using
    it need `transactional_db` so their writes are committed.
    """
    from harness.faults.rig import Rig

    rigs = []

    def start(memcached=1, seed_tasks=0, memcached_running=True, path=False):
        workdir = tmp_path / f"rig-{len(rigs)}"
        rigs.append(Rig(workdir, memcached, database_url=database_url(), path=path, worker_class=worker_class))
        return rigs[-1].start(seed_tasks, memcached_running)

    yield start
    for started in rigs:
        started.stop()


@pytest.fixture(scope="session")
def app_server(django_db_setup, django_db_blocker):
    """The app under gunicorn (2 workers), on the test database and memcached.

    Another process: what it shows proves what was committed and cached.
    Tests using it need `transactional_db` so their writes are committed.
    """
    server = Gunicorn({"DATABASE_URL": database_url()}).start()
    yield server
    server.stop()


@pytest.fixture
def start_app(tmp_path):
    """start_app(env) runs the app under gunicorn with env on top of the tests' own.

    One worker, so one process's log: stop the server, then read
    server.log_path. A None value unsets a variable; https=True keeps the
    production default of HTTPS only (behind a proxy that says so).
    Tests using it need `transactional_db` so their writes are committed.
    """
    servers = []

    def start(env=(), https=False):
        server = Gunicorn({"DATABASE_URL": database_url()}, workers=1)
        if https:
            del server.env["HTTPS_ONLY"]
        for name, value in dict(env).items():
            if value is None:
                server.env.pop(name, None)
            else:
                server.env[name] = value
        server.log_path = tmp_path / f"gunicorn-{len(servers)}.log"
        servers.append(server)
        with open(server.log_path, "wb") as log:
            server.start(stdout=log)
        return server

    start.servers = servers
    yield start
    for server in servers:
        server.stop()


def stopped_log(server):
    """Everything a server from start_app logged, once it has stopped."""
    server.stop()
    return server.log_path.read_text()


SASL_USER = "tasklist-app"
SASL_PASSWORD = "sasl-Pw-9d41c7e2-never-in-any-log"


@pytest.fixture(scope="session")
def sasl_memcached():
    """A memcached that requires a SASL login (-S): SASL_USER / SASL_PASSWORD."""
    folder = write_sasl_conf({SASL_USER: SASL_PASSWORD})
    server = Memcached(sasl_conf_dir=folder).start()
    yield server
    server.stop()
    shutil.rmtree(folder)
