import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client

from harness.memcached_meter import memcached_meter  # noqa: F401 (a fixture)
from harness.services import Gunicorn, Memcached
from memcachier_cache.server import Health
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
    server = Memcached.requiring_login({SASL_USER: SASL_PASSWORD}).start()
    yield server
    server.remove()
