"""
Nothing read from memcached is loaded before it is authenticated
(memcachier_cache/values.py): a value must carry the HMAC of its key, flags
and bytes under SECRET_KEY (or a fallback). A forged or foreign value is a
miss and a warning, never unpickled. A genuine value of a shape an app
can't use is that app's to check: this project's own, a forged list
version, is in tests/test_forged_cache_values.py.
"""

import logging
import os
import pickle

import pytest
from django.core.cache import cache
from django.test import override_settings

from memcachier_cache import MemCachierCache
from memcachier_cache import values as values_module
from memcachier_cache.server import SET
from memcachier_cache.values import BYTES, KEPT_VALUES, PICKLED, SIGNED, Values


class RunsCode:
    """What an attacker stores: unpickling it runs a command."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def store_raw(key, flags, data, backend=cache):
    """What any client that can write to the cache can do: no app secret needed."""
    made = backend.make_key(key)
    server = backend._cache._get_server(made)
    assert server.store(SET, made.encode(), flags, data, 0) == 0


@pytest.mark.parametrize("flags", [PICKLED, PICKLED | SIGNED], ids=["as bmemcached writes", "claiming a signature"])
def test_a_forged_pickle_is_never_unpickled(tmp_path, flags, caplog):
    marker = tmp_path / "ran"
    payload = pickle.dumps(RunsCode(marker))
    data = payload if flags == PICKLED else os.urandom(32) + payload
    store_raw("k", flags, data)
    with caplog.at_level(logging.WARNING, logger="memcachier_cache"):
        assert cache.get("k", "miss") == "miss"
        assert cache.get_many(["k"]) == {}
    assert not marker.exists()
    assert "not loaded" in caplog.text


def test_a_genuine_value_moved_under_another_key_is_a_miss():
    cache.set("mine", "genuine bytes, for this key only")
    made = cache.make_key("mine")
    stored = cache._cache._get_server(made).get_multi([made.encode()])[made.encode()]
    store_raw("other", *stored)
    assert cache.get("other", "miss") == "miss"
    assert cache.get("mine") == "genuine bytes, for this key only"


def test_a_tampered_byte_is_a_miss():
    cache.set("page", b"<html>" * 100)
    assert cache.get("page") == b"<html>" * 100  # the genuine one was read (and kept) first
    made = cache.make_key("page")
    flags, data = cache._cache._get_server(made).get_multi([made.encode()])[made.encode()]
    store_raw("page", flags, data[:-1] + bytes([data[-1] ^ 1]))
    assert cache.get("page", "miss") == "miss"


def test_the_same_stored_bytes_are_checked_and_unzipped_once(monkeypatch):
    checked = []
    mac = Values._mac
    monkeypatch.setattr(Values, "_mac", staticmethod(lambda *args: checked.append(args[1]) or mac(*args)))
    cache.set("checked-once", b"<html>" * 100)  # compressed
    checked.clear()
    assert [cache.get("checked-once") for _ in range(3)] == [b"<html>" * 100] * 3
    assert len(checked) == 1
    cache.set("checked-once", b"<body>" * 100)
    checked.clear()
    assert cache.get("checked-once") == b"<body>" * 100  # new bytes: checked again
    assert len(checked) == 1


def test_pickled_values_are_loaded_afresh_for_every_read():
    cache.set("k", {"rows": list(range(100))})  # pickled and compressed
    first, second = cache.get("k"), cache.get("k")
    first["rows"].clear()
    assert second == {"rows": list(range(100))}


def test_only_a_few_loaded_values_are_kept():
    values = Values(["secret"])
    for n in range(3 * KEPT_VALUES):
        key = f"key {n}".encode()
        flags, data = values.dumps(key, "long text " * 50)
        assert values.loads(key, flags, data) == "long text " * 50
    assert len(values_module._kept) == KEPT_VALUES


def backend_with(secret, fallbacks=()):
    with override_settings(SECRET_KEY=secret, SECRET_KEY_FALLBACKS=list(fallbacks)):
        return MemCachierCache([os.environ["MEMCACHIER_SERVERS"]], {"KEY_PREFIX": "rotation"})


def test_values_signed_with_a_fallback_key_are_read_after_rotation():
    old = backend_with("old-secret-" + "o" * 40)
    old.set("k", {"kept": "through the rotation"})
    rotated = backend_with("new-secret-" + "n" * 40, fallbacks=["old-secret-" + "o" * 40])
    assert rotated.get("k") == {"kept": "through the rotation"}
    rotated.set("k", {"signed": "with the new key"})
    assert old.get("k", "miss") == "miss"  # the old key alone can't read the new one


def test_another_apps_values_are_misses_even_under_our_keys():
    # An app sharing the cache without this SECRET_KEY can write keys but
    # not values this app will load.
    other_app = backend_with("another-apps-secret-" + "x" * 40)
    other_app.set("k", "theirs")
    ours = backend_with("our-secret-" + "y" * 40)
    assert ours.get("k", "miss") == "miss"


def test_integers_are_bare_digits_for_memcached_incr_and_nothing_else_is():
    store_raw("counter", 2, b"41")  # memcached's own incr needs exactly this
    assert cache.incr("counter") == 42
    store_raw("counter", 2, b"41; rm -rf /")
    assert cache.get("counter", "miss") == "miss"
    store_raw("page", BYTES, b"<h1>injected</h1>")  # bytes, unsigned
    assert cache.get("page", "miss") == "miss"
