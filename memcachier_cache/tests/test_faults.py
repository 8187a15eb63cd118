"""
What MemCachierCache does when memcached fails: the table "What each
operation gives while its server is down" in memcachier_cache/README.md.

An infrastructure fault (a server that is down, hung, or refuses the login)
costs every operation a miss, False or the fallback in OUTCOMES, and the
process one log line, never an exception. A programming error raises all
the same. A failed server is skipped for a while, by every thread, so a hung
one costs one timeout, not one per operation.
"""

import logging
import os
import pickle
import threading

import pytest
from django.core.cache import caches
from django.core.cache.backends.base import InvalidCacheKey

from harness.services import free_port
from harness.tarpit import Tarpit
from memcachier_cache import MemCachierCache
from memcachier_cache.server import RETRY_DELAY_SECONDS
from memcachier_cache.tests.conftest import SASL_USER


def backend(*addresses, **options):
    return MemCachierCache(list(addresses), {"OPTIONS": {"socket_timeout": 0.25, **options}})


FAULTS = ["down", "hung", "refused login"]


@pytest.fixture
def failing(request, sasl_memcached):
    """failing(kind) -> a backend whose only server has that fault."""
    pits = []

    def make(kind):
        if kind == "down":
            return backend(f"127.0.0.1:{free_port()}")
        if kind == "hung":
            pits.append(Tarpit().start())
            return backend(pits[-1].address)
        return backend(sasl_memcached.address, username=SASL_USER, password="wrong-password")

    yield make
    for pit in pits:
        pit.stop()


class Raises:
    def __init__(self, exception):
        self.exception = exception


# operation -> (call, what it returns, or raises, while its server fails)
OUTCOMES = {
    "get": (lambda cache: cache.get("k", "default"), "default"),
    "get_many": (lambda cache: cache.get_many(["k", "j"]), {}),
    "has_key": (lambda cache: cache.has_key("k"), False),
    "in": (lambda cache: "k" in cache, False),
    "get_or_set": (lambda cache: cache.get_or_set("k", lambda: "computed"), "computed"),
    "set": (lambda cache: cache.set("k", 1), False),
    "set_now": (lambda cache: cache.set_now("k", 1), False),
    "add": (lambda cache: cache.add("k", 1), False),
    "set_many": (lambda cache: cache.set_many({"k": 1, "j": 2}), ["k", "j"]),
    "touch": (lambda cache: cache.touch("k"), False),
    "delete": (lambda cache: cache.delete("k"), False),
    "delete_many": (lambda cache: cache.delete_many(["k", "j"]), None),
    # As for a missing key: any caller handles that, since keys get evicted.
    "incr": (lambda cache: cache.incr("k"), Raises(ValueError)),
    "decr": (lambda cache: cache.decr("k"), Raises(ValueError)),
    "incr_version": (lambda cache: cache.incr_version("k"), Raises(ValueError)),
    "decr_version": (lambda cache: cache.decr_version("k"), Raises(ValueError)),
    "clear": (lambda cache: cache.clear(), None),
    "close": (lambda cache: cache.close(), None),
}


@pytest.mark.parametrize("operation", OUTCOMES)
@pytest.mark.parametrize("fault", FAULTS)
def test_every_operation_degrades_as_the_readme_says(failing, fault, operation):
    call, expected = OUTCOMES[operation]
    cache = failing(fault)
    for attempt in ("the failure", "inside the skip window"):
        if isinstance(expected, Raises):
            with pytest.raises(expected.exception, match="not found"):
                call(cache)
        else:
            assert call(cache) == expected, attempt


@pytest.mark.parametrize("fault", FAULTS)
def test_a_fault_is_one_log_line_for_every_operation(failing, fault, caplog):
    cache = failing(fault)
    with caplog.at_level(logging.WARNING, logger="memcachier_cache"):
        for _ in range(3):
            for call, expected in OUTCOMES.values():
                try:
                    call(cache)
                except ValueError:
                    assert isinstance(expected, Raises)
    (record,) = caplog.records
    message = record.getMessage()
    if fault == "refused login":
        assert "refused the SASL login: check MEMCACHIER_USERNAME and MEMCACHIER_PASSWORD" in message
        assert "wrong-password" not in caplog.text
    else:
        assert f"serving without it for {RETRY_DELAY_SECONDS} s" in message


class Unpicklable:
    def __reduce__(self):
        raise pickle.PicklingError("not this one")


# The operations Django's own tests check for InvalidCacheKey.
KEYED = {
    "add": lambda cache, key: cache.add(key, 1),
    "get": lambda cache, key: cache.get(key),
    "set": lambda cache, key: cache.set(key, 1),
    "incr": lambda cache, key: cache.incr(key),
    "decr": lambda cache, key: cache.decr(key),
    "touch": lambda cache, key: cache.touch(key),
    "delete": lambda cache, key: cache.delete(key),
    "get_many": lambda cache, key: cache.get_many([key, "b"]),
    "set_many": lambda cache, key: cache.set_many({key: 1, "b": 2}),
    "delete_many": lambda cache, key: cache.delete_many([key, "b"]),
}


@pytest.mark.parametrize("fault", FAULTS)
def test_programming_errors_raise_even_while_memcached_fails(failing, fault):
    cache = failing(fault)
    for call in KEYED.values():
        with pytest.raises(InvalidCacheKey):
            call(cache, "a key with spaces")
    with pytest.raises(pickle.PicklingError):
        cache.set("k", Unpicklable())
    with pytest.raises(TypeError):
        cache.incr("k", 1.5)


def test_a_hung_server_costs_one_timeout_then_is_skipped(tarpit):
    cache = backend(tarpit.address)
    for _ in range(10):
        assert cache.get("k") is None
        assert cache.set("k", 1) is False
    # One connection, one timeout; the other 19 operations were skipped.
    assert tarpit.connections() == 1


def test_every_thread_skips_a_server_one_thread_saw_fail(tarpit):
    # Django gives each thread a backend and connections of its own (as
    # under gunicorn's gthread workers); the skip window is the process's.
    outcomes = []

    def use_cache():
        cache = backend(tarpit.address)
        outcomes.append((cache.get("k", "miss"), cache.set("k", 1)))

    for _ in range(4):  # one after the other: which one fails first is fixed
        thread = threading.Thread(target=use_cache)
        thread.start()
        thread.join()
    assert outcomes == [("miss", False)] * 4
    assert tarpit.connections() == 1


def test_a_stopped_server_is_tried_again_after_the_skip_window(own_memcached):
    cache = backend(own_memcached.address)
    assert cache.set("k", 1) is True
    own_memcached.stop()
    assert cache.get("k") is None
    own_memcached.start()
    (server,) = cache._cache.servers
    window_ends = server.health.skip_until
    for _ in range(20):  # steady traffic inside the skip window
        assert cache.get("k") is None
        assert cache.set("k", 2) is False
    # Skipped operations are not new failures: the window did not move
    # (it used to, and a server that came back was never used again).
    assert server.health.skip_until == window_ends
    server.health.recover()  # as when the window is over
    assert cache.set("k", 2) is True
    assert cache.get("k") == 2


def test_set_now_tries_a_server_this_process_is_skipping(own_memcached):
    """For writes that must not be skipped: another process may use the server again."""
    cache = backend(own_memcached.address)
    assert cache.set("k", 1) is True
    own_memcached.stop()
    assert cache.get("k") is None  # fails: skipped from now on
    own_memcached.start()
    assert cache.set("k", 2) is False  # skipped
    assert cache.set_now("k", 3) is True  # tried anyway, and it's back
    assert cache.get("k") == 3  # no longer skipped


def test_a_connection_memcached_closed_while_idle_is_replaced_not_failed(own_memcached, caplog):
    # A restart, or an idle timeout on the way: the first command after it
    # must not fail, or the process skips the server and owes a version bump.
    cache = backend(own_memcached.address)
    assert cache.set("k", 1) is True
    own_memcached.stop()
    own_memcached.start()
    with caplog.at_level(logging.WARNING, logger="memcachier_cache"):
        assert cache.set("k", 2) is True
        assert cache.get("k") == 2
    (server,) = cache._cache.servers
    assert not server.health.skipping()
    assert caplog.records == []


def test_a_healthy_idle_connection_is_kept(own_memcached):
    # The check for a connection closed while idle must not mistake a quiet
    # one for a closed one (nor wait to find out): every operation here
    # uses the one connection.
    cache = backend(own_memcached.address)
    (server,) = cache._cache.servers
    cache.set("k", 1)
    opened = int(server.server_stats()["total_connections"])
    for value in range(20):
        cache.set("k", value)
        assert cache.get("k") == value
    assert int(server.server_stats()["total_connections"]) == opened


def test_stats_after_a_refused_quiet_write_are_stats(caplog):
    cache = caches["default"]
    (server,) = cache._cache.servers
    too_large = b"x" * (2 * 1024 * 1024)
    with caplog.at_level(logging.WARNING, logger="memcachier_cache"):
        server.store_quietly({b"too-large": (0, too_large)}, 0)
        stats = server.server_stats()
    assert "" not in stats and int(stats["pid"]) > 0
    assert "refused a value of 2097152 bytes (quiet set)" in caplog.text


def test_a_refused_quiet_write_on_a_replaced_connection_is_reported_not_read_as_an_answer(own_memcached, caplog):
    cache = backend(own_memcached.address)
    (server,) = cache._cache.servers
    cache.set("k", 1)
    own_memcached.stop()
    own_memcached.start()  # the connection is closed: the quiet write takes a new one
    with caplog.at_level(logging.WARNING, logger="memcachier_cache"):
        server.store_quietly({b"too-large": (0, b"x" * (2 * 1024 * 1024))}, 0)
        assert cache.get("k") is None  # a restarted memcached is empty; no error
    assert "refused a value of 2097152 bytes (quiet set)" in caplog.text
    assert not server.health.skipping()


def test_set_now_on_a_hung_server_costs_one_timeout(tarpit):
    cache = backend(tarpit.address)
    assert cache.get("k") is None  # fails: skipped from now on
    assert cache.set_now("k", 1) is False
    assert tarpit.connections() == 2  # the forced try, and no reconnect after it fails


def test_a_value_over_the_item_limit_is_not_stored_and_leaves_no_old_value(caplog):
    cache = caches["default"]
    cache.set("big", "small")
    cache.set_many({"big-many": "small", "other": 1})
    with caplog.at_level(logging.WARNING, logger="memcachier_cache"):
        assert cache.set("big", os.urandom(2 * 1024 * 1024)) is False
        assert cache.set_many({"big-many": os.urandom(2 * 1024 * 1024), "fine": 1}) == ["big-many"]
    assert cache.get_many(["big", "big-many", "fine"]) == {"fine": 1}
    assert "over its item limit, not cached" in caplog.text


def test_a_server_without_sasl_ignores_a_login():
    # Credentials for a server that doesn't ask for them: it just works.
    cache = backend(os.environ["MEMCACHIER_SERVERS"], username="u", password="p")
    assert cache.set("k", 1) is True
    assert cache.get("k") == 1
