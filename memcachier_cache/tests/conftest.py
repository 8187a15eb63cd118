"""
What the backend's own tests share. They need a memcached server
(MEMCACHIER_SERVERS, see settings.py) and start every other one themselves:
a SASL one, a hung one (a tarpit), one of their own to stop and start.
No database, no app.
"""

import collections
import shutil

import pytest
from django.core.cache import cache, caches

from harness.services import Memcached, write_sasl_conf
from harness.tarpit import Tarpit
from memcachier_cache import MemCachierCache
from memcachier_cache.log import problems
from memcachier_cache.server import NOOP, Health, Server


@pytest.fixture(autouse=True)
def empty_cache():
    """Every test starts with an empty memcached (flush_all), every server
    worth trying, and every kind of problem logged at once.

    A test that made memcached unreachable may leave this process skipping
    a server (memcachier_cache/server.py), and one that logged a problem
    would keep the next one of its kind quiet for a minute (log.py).
    """
    Health.forget_all()
    problems.forget()
    cache.clear()
    yield


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
        for backend in caches.all():
            if isinstance(backend, MemCachierCache):
                for server in backend._cache.servers:
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


@pytest.fixture
def tarpit():
    """A hung memcached: accepts connections and never answers."""
    with Tarpit() as pit:
        yield pit


@pytest.fixture
def own_memcached():
    """A memcached of this test's own, to stop and start."""
    server = Memcached().start()
    yield server
    server.stop()


SASL_USER = "memcachier-cache-tests"
SASL_PASSWORD = "sasl-Pw-3b7f20c9-never-in-any-log"


@pytest.fixture(scope="session")
def sasl_memcached():
    """A memcached that requires a SASL login (-S): SASL_USER / SASL_PASSWORD."""
    folder = write_sasl_conf({SASL_USER: SASL_PASSWORD})
    server = Memcached(sasl_conf_dir=folder).start()
    yield server
    server.stop()
    shutil.rmtree(folder)
