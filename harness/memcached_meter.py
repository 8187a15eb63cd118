"""
Counting what a block of code costs memcached, for the tests that assert
exact counts: round trips as the client makes them (each exchange waits for
one answer; quiet writes, which no one waits for, are no round trip) and
operations as memcached's own stats count them.

    from harness.memcached_meter import memcached_meter  # in a conftest: the fixture
"""

import collections

import pytest
from django.core.cache import cache, caches

from memcachier_cache import MemCachierCache
from memcachier_cache.server import NOOP, Server


class MemcachedMeter:
    """Round trips (client side) and operations (memcached's own stats)."""

    def __init__(self):
        self.round_trips = 0
        self.ops = collections.Counter()
        self._counting = False

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
    """A MemcachedMeter: `with memcached_meter:` counts the block."""
    meter = MemcachedMeter()
    original_exchange = Server.exchange

    def counting_exchange(self, *args, **kwargs):
        if meter._counting:
            meter.round_trips += 1
        return original_exchange(self, *args, **kwargs)

    monkeypatch.setattr(Server, "exchange", counting_exchange)
    return meter
