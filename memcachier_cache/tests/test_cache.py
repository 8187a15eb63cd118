"""
MemCachierCache (memcachier_cache/cache.py) beyond what Django's own tests
check (test_django_contract.py): keys counted in bytes, memcached's expiry
for every Django timeout, counters that are atomic on the server, values
that can't be read back, sharding, writes that don't wait, on_round_trip.
Faults are in test_faults.py; an app served from its database while
memcached fails is this project's tests/test_cache_faults.py.
"""

import logging
import os
import threading
import time

import pytest
from django.core.cache import cache, caches
from django.core.cache.backends.base import InvalidCacheKey
from django.core.exceptions import ImproperlyConfigured

from harness.services import Memcached
from memcachier_cache import MemCachierCache, unacknowledged_writes
from memcachier_cache.cache import EXPIRED, LATEST_EXPIRY, THIRTY_DAYS
from memcachier_cache.log import problems
from memcachier_cache.server import SET
from memcachier_cache.tests.test_faults import KEYED, backend
from memcachier_cache.values import PICKLED


def test_a_key_over_250_bytes_raises_from_every_operation_and_sends_nothing(memcached_meter):
    key = "é" * 120  # 120 characters pass Django's check; 240 bytes + prefix don't pass memcached's
    assert len(cache.make_key(key)) < 250 < len(cache.make_key(key).encode())
    with memcached_meter:
        for call in KEYED.values():
            with pytest.raises(InvalidCacheKey, match="longer than 250 bytes"):
                call(cache, key)
    # memcached drops the connection on such a key: it was never sent.
    assert memcached_meter.round_trips == 0
    assert cache.set("é" * 100, 1) is True  # 200 bytes + prefix: fine
    assert cache.get("é" * 100) == 1


def test_a_made_key_is_kept_and_an_invalid_one_raises_every_time(monkeypatch):
    made = []
    make_key = MemCachierCache.make_key
    monkeypatch.setattr(MemCachierCache, "make_key", lambda self, *a, **k: made.append(a) or make_key(self, *a, **k))
    backend = caches["default"]
    first = backend.make_and_validate_key("kept")
    assert backend.make_and_validate_key("kept") == first
    assert len(made) == 1
    for _ in range(2):
        with pytest.raises(InvalidCacheKey):
            backend.get("a key with spaces")
    # True == 1, but Django makes a different key of each.
    assert backend.make_and_validate_key("kept", version=1) != backend.make_and_validate_key("kept", version=True)
    assert backend.make_and_validate_key("kept", version=True) == make_key(backend, "kept", version=True)


@pytest.mark.parametrize(
    "timeout, expiry",
    [
        (None, 0),  # never expires
        (0, EXPIRED),
        (-1, EXPIRED),
        (0.5, EXPIRED),  # int(timeout), as Django's own memcached backends
        (1, 1),
        (60.7, 60),
        (THIRTY_DAYS, THIRTY_DAYS),
    ],
)
def test_django_timeouts_become_memcached_expiries(timeout, expiry):
    assert cache.get_backend_timeout(timeout) == expiry


def test_timeouts_over_30_days_become_a_unix_time_and_never_overflow():
    now = int(time.time())
    assert cache.get_backend_timeout(THIRTY_DAYS + 1) - now in (THIRTY_DAYS + 1, THIRTY_DAYS + 2)
    assert cache.get_backend_timeout(200 * 365 * 24 * 3600) == LATEST_EXPIRY
    assert cache.set("centuries", "kept", 200 * 365 * 24 * 3600) is True
    assert cache.get("centuries") == "kept"


def test_the_default_timeout_is_the_settings_one():
    assert cache.get_backend_timeout() == 24 * 60 * 60


def test_a_timeout_in_the_past_replaces_and_removes_the_value():
    cache.set("k", "old")
    cache.set("k", "new", timeout=-10)
    assert cache.get("k", "gone") == "gone"
    assert cache.add("k", "added", timeout=0) is True
    assert cache.get("k", "gone") == "gone"


def test_none_is_a_value_and_a_hit_costs_one_round_trip(memcached_meter):
    cache.set("nothing", None)
    with memcached_meter:
        assert cache.get("nothing", "default") is None
    assert memcached_meter.round_trips == 1
    assert memcached_meter.ops["get_hits"] == 1
    assert cache.has_key("nothing") is True
    assert cache.get_or_set("nothing", "other") is None


def test_incr_is_one_round_trip_on_the_server(memcached_meter):
    cache.set("counter", 10)
    with memcached_meter:
        assert cache.incr("counter", 5) == 15
        assert cache.decr("counter", 20) == 0  # memcached stops at 0
    # No get and set: memcached did the arithmetic.
    assert memcached_meter.round_trips == 2
    assert (memcached_meter.gets, memcached_meter.sets) == (0, 0)
    # memcached pads a number that got shorter with spaces ("0 "): still 0.
    assert cache.get("counter") == 0
    assert cache.incr("counter", 7) == 7


def test_concurrent_incr_loses_no_update():
    cache.set("hits", 0)
    threads, per_thread = 8, 200

    def hammer(barrier):
        mine = caches.create_connection("default")  # as each thread of a worker has
        barrier.wait()
        for _ in range(per_thread):
            mine.incr("hits")

    barrier = threading.Barrier(threads)
    workers = [threading.Thread(target=hammer, args=(barrier,)) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert cache.get("hits") == threads * per_thread


def test_incr_of_a_missing_key_creates_nothing():
    with pytest.raises(ValueError, match="not found"):
        cache.incr("absent")
    assert cache.has_key("absent") is False


@pytest.mark.parametrize(
    "flags, data",
    [(PICKLED, b"not a pickle"), (2, b"12 monkeys"), (8, b"not zlib"), (1 << 20, b"unknown flags")],
    ids=["bad pickle", "bad integer", "bad compression", "unknown flags"],
)
def test_a_value_that_cant_be_read_back_is_a_miss_and_a_warning(flags, data, caplog):
    problems.forget()
    key = cache.make_key("odd")
    server = cache._cache._get_server(key)
    assert server.store(SET, key.encode(), flags, data, 0) == 0
    cache.set("fine", 1)
    with caplog.at_level(logging.WARNING, logger="memcachier_cache"):
        assert cache.get("odd", "default") == "default"
        assert cache.get_many(["odd", "fine"]) == {"fine": 1}
    assert "treated as a cache miss" in caplog.text


def test_unknown_options_are_refused_at_start():
    with pytest.raises(ImproperlyConfigured, match="Unknown OPTIONS"):
        MemCachierCache(["127.0.0.1:11211"], {"OPTIONS": {"binary": True}})


def test_several_servers_are_sharded_not_replicated():
    servers = [Memcached().start() for _ in range(3)]
    try:
        sharded = backend(*(s.address for s in servers))
        sharded.set_many({f"key-{i}": i for i in range(60)})
        counts = [int(stats["curr_items"]) for stats in sharded.server_stats().values()]
        assert sum(counts) == 60
        assert all(count > 0 for count in counts)
        assert sharded.get_many([f"key-{i}" for i in range(60)]) == {f"key-{i}": i for i in range(60)}
        # Keys that share a hash tag live together (as a task list's do).
        tagged = [
            sharded._cache._get_server(sharded.make_key(k)) for k in ("{tasklist}:version", "{tasklist}:page:index")
        ]
        assert tagged[0] is tagged[1]
    finally:
        for server in servers:
            server.stop()


# --- writes that don't wait (unacknowledged_writes) -------------------------


def test_unacknowledged_writes_store_without_waiting(memcached_meter):
    with memcached_meter:
        with unacknowledged_writes():
            assert cache.set("quiet", "stored") is True
            assert cache.set_many({"a": 1, "b": 2}) == []
            with unacknowledged_writes(False):
                assert cache.set("loud", "waited for") is True  # this one waits
    assert memcached_meter.round_trips == 1
    assert memcached_meter.sets == 4
    assert cache.get_many(["quiet", "a", "b", "loud"]) == {"quiet": "stored", "a": 1, "b": 2, "loud": "waited for"}


def test_a_refused_quiet_write_is_reported_at_the_next_round_trip_and_leaves_nothing(caplog):
    cache.set("big", "small")
    with caplog.at_level(logging.WARNING, logger="memcachier_cache"):
        with unacknowledged_writes():
            assert cache.set("big", os.urandom(2 * 1024 * 1024)) is True  # no one waited to know
        assert "over its item limit" not in caplog.text
        # memcached's answer is read before the next round trip's own...
        assert cache.get_many(["big", "other"]) == {}
    assert "refused a value of" in caplog.text and "quiet set" in caplog.text
    # ...and the connection is in step: this get gets its own answer.
    cache.set("other", 1)
    assert cache.get("other") == 1


def test_add_and_set_now_always_wait(memcached_meter):
    with memcached_meter, unacknowledged_writes():
        assert cache.add("lock", 1) is True
        assert cache.add("lock", 2) is False  # the answer, not a guess
        assert cache.set_now("version", "v") is True
    assert memcached_meter.round_trips == 3


def test_a_quiet_write_to_a_failed_server_is_lost_without_an_error(own_memcached_address):
    quiet = backend(own_memcached_address)
    quiet.get("k")  # connected
    with unacknowledged_writes():
        assert quiet.set("k", 1) is True  # the server is gone: lost, as these writes may be
    assert quiet.get("k", "miss") == "miss"


@pytest.fixture
def own_memcached_address():
    server = Memcached().start()
    address = server.address
    server.stop()
    return address


# --- on_round_trip ------------------------------------------------------------

ROUND_TRIPS = []


def record_round_trip(seconds):
    """An on_round_trip named by its dotted path, as settings name one."""
    ROUND_TRIPS.append(seconds)


@pytest.mark.parametrize("how", ["a callable", "a dotted path"])
def test_on_round_trip_is_called_with_the_seconds_of_each_round_trip(how):
    ROUND_TRIPS.clear()
    on_round_trip = ROUND_TRIPS.append if how == "a callable" else f"{__name__}.record_round_trip"
    timed = MemCachierCache([os.environ["MEMCACHIER_SERVERS"]], {"OPTIONS": {"on_round_trip": on_round_trip}})
    assert timed.set("k", 1) is True
    assert timed.get_many(["k", "j"]) == {"k": 1}
    with unacknowledged_writes():
        assert timed.set("quiet", 2) is True  # no one waits: no round trip
    assert timed.get("quiet") == 2
    assert len(ROUND_TRIPS) == 3
    assert all(isinstance(seconds, float) and 0 < seconds < 1 for seconds in ROUND_TRIPS)
