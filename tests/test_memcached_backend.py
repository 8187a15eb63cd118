"""config.memcached: a memcached problem is a cache miss and one log line, never a 500."""

import logging
import os
from datetime import datetime, timedelta

import pytest
from django.core.cache import caches
from django.test import override_settings

from bench.tarpit import Tarpit
from config import memcached
from config.memcached import MemCachierCache
from tasks.models import Task
from tests.services import Memcached, free_port


@pytest.fixture(autouse=True)
def fresh_log_limits():
    memcached.problems._last.clear()


def backend(*addresses, **options):
    return MemCachierCache(list(addresses), {"OPTIONS": {"socket_timeout": 0.25, **options}})


@pytest.fixture
def tarpit():
    """A hung memcached: accepts connections and never answers."""
    with Tarpit() as pit:
        yield pit


def test_a_refused_connection_is_a_miss_and_one_log_line(caplog):
    cache = backend(f"127.0.0.1:{free_port()}")
    with caplog.at_level(logging.WARNING, logger="config.memcached"):
        for _ in range(20):
            assert cache.get("k") is None
            assert cache.set("k", 1) is False
            assert cache.get_many(["a", "b"]) == {}
            assert cache.add("k", 1) is False
    assert len(caplog.records) == 1
    assert "failed" in caplog.records[0].getMessage()


def test_a_hung_server_costs_one_timeout_then_is_skipped(tarpit, caplog):
    cache = backend(tarpit.address)
    with caplog.at_level(logging.WARNING, logger="config.memcached"):
        for _ in range(10):
            assert cache.get("k") is None
            assert cache.set("k", 1) is False
    # One connection, one timeout; the other 19 operations were skipped.
    assert tarpit.connections() == 1
    assert len(caplog.records) == 1
    assert "serving without it" in caplog.records[0].getMessage()


@pytest.fixture
def own_memcached():
    """A memcached of this test's own, to stop and start."""
    server = Memcached().start()
    yield server
    server.stop()


def test_a_stopped_server_is_tried_again_after_the_skip_window(own_memcached):
    cache = backend(own_memcached.address)
    assert cache.set("k", 1) is True
    own_memcached.stop()
    assert cache.get("k") is None
    own_memcached.start()
    (node,) = cache._cache.servers
    window_ends = node.reconnects_deferred_until
    for _ in range(20):  # steady traffic inside the skip window
        assert cache.get("k") is None
        assert cache.set("k", 2) is False
    # Skipped operations are not new failures: the window did not move
    # (it used to, and a server that came back was never used again).
    assert node.reconnects_deferred_until == window_ends
    node.reconnects_deferred_until = datetime.now() - timedelta(seconds=1)  # the window is over
    assert cache.set("k", 2) is True
    assert cache.get("k") == 2


def test_set_now_tries_a_server_this_process_is_skipping(own_memcached):
    """For writes that must not be skipped: another process may use the server again."""
    cache = backend(own_memcached.address)
    assert cache.set("k", 1) is True
    own_memcached.stop()
    own_memcached.start()
    assert cache.get("k") is None  # the old connection fails: skipped from now on
    assert cache.set("k", 2) is False  # skipped
    assert cache.set_now("k", 3) is True  # tried anyway, and it's back
    assert cache.get("k") == 3  # no longer skipped


def test_a_value_over_the_item_limit_is_not_stored_and_leaves_no_old_value(caplog):
    cache = caches["default"]
    cache.set("big", "small")
    with caplog.at_level(logging.WARNING, logger="config.memcached"):
        assert cache.set("big", os.urandom(2 * 1024 * 1024)) is False
    assert cache.get("big") is None
    assert "Too large" in caplog.text or "too large" in caplog.text.lower()


def test_a_key_the_server_would_reject_is_a_miss_and_costs_no_connection(caplog):
    cache = caches["default"]
    key = "é" * 200  # 200 characters pass Django's check; 400 bytes don't pass memcached's
    with caplog.at_level(logging.WARNING, logger="config.memcached"):
        assert cache.get(key) is None
        assert cache.set(key, 1) is False
    assert "over memcached's 250 bytes" in caplog.text
    # memcached drops the connection on such a key; it was never sent.
    assert cache.set("fine", 1) is True
    assert cache.get("fine") == 1


def test_an_error_the_server_returns_is_a_miss(caplog):
    cache = caches["default"]
    cache.set("counter", "not a number")
    with caplog.at_level(logging.WARNING, logger="config.memcached"):
        # memcached refuses to incr a non-number: MemcachedException inside.
        assert cache.get_many(["counter"]) == {"counter": "not a number"}
        assert tolerant_incr(cache, "counter") is None
    assert "treated as a cache miss" in caplog.text


def tolerant_incr(cache, key):
    return memcached.tolerant(default=None)(lambda self: self._cache.incr(self.make_key(key), 1))(cache)


def test_wrong_password_on_a_server_without_sasl_is_a_miss():
    # Authentication against a server that doesn't speak SASL fails cleanly.
    cache = backend(os.environ["MEMCACHIER_SERVERS"], username="u", password="p")
    assert cache.get("k") is None


def test_several_servers_are_sharded_not_replicated():
    servers = [Memcached().start() for _ in range(3)]
    try:
        cache = backend(*(s.address for s in servers))
        cache.set_many({f"key-{i}": i for i in range(60)})
        counts = [int(stats["curr_items"]) for stats in cache.server_stats().values()]
        assert sum(counts) == 60
        assert all(count > 0 for count in counts)
        # The task list's keys share a hash tag: they live together.
        tagged = [cache._cache._get_server(cache.make_key(k)) for k in ("{tasklist}:version", "{tasklist}:page:index")]
        assert tagged[0] is tagged[1]
    finally:
        for server in servers:
            server.stop()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("problem", ["refused", "hung"])
def test_the_page_is_served_from_the_database_when_memcached_fails(client, tarpit, problem):
    Task.objects.create(name="still here")
    address = tarpit.address if problem == "hung" else f"127.0.0.1:{free_port()}"
    config = {
        "BACKEND": "config.memcached.MemCachierCache",
        "LOCATION": [address],
        "OPTIONS": {"socket_timeout": 0.25},
    }
    with override_settings(CACHES={"default": config, "template_fragments": config}):
        for _ in range(3):
            response = client.get("/")
            assert response.status_code == 200
            assert '<span class="task-name">still here</span>' in response.content.decode()
            assert response["X-Cache"] == "MISS"
        assert client.post("/", {"name": "added anyway"}).status_code == 302
        assert "added anyway" in client.get("/").content.decode()
