import collections

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client

from config.memcached import SkippingServer
from tests.services import Gunicorn


@pytest.fixture(autouse=True)
def empty_cache():
    """Every test starts with an empty memcached (flush_all)."""
    cache.clear()
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

    def __enter__(self):
        self._before = self.stats()
        self.round_trips = 0
        self._counting = True
        return self

    def __exit__(self, *exc):
        self._counting = False
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
    """Counts every request sent to memcached: one _send is one round trip."""
    meter = MemcachedMeter()
    meter._counting = False
    original_send = SkippingServer._send

    def counting_send(self, data):
        if meter._counting:
            meter.round_trips += 1
        return original_send(self, data)

    monkeypatch.setattr(SkippingServer, "_send", counting_send)
    return meter


@pytest.fixture(scope="session")
def app_server(django_db_setup, django_db_blocker):
    """The app under gunicorn (2 workers), on the test database and memcached.

    Another process: what it shows proves what was committed and cached.
    Tests using it need `transactional_db` so their writes are committed.
    """
    settings_dict = connection.settings_dict
    env = {
        "DATABASE_URL": (
            f"postgres://{settings_dict['USER']}@{settings_dict['HOST']}:{settings_dict['PORT']}"
            f"/{settings_dict['NAME']}"
        ),
    }
    server = Gunicorn(env).start()
    yield server
    server.stop()
