"""
Nothing read from memcached is loaded before it is authenticated
(config/memcached/values.py): a value must carry the HMAC of its key, flags
and bytes under SECRET_KEY (or a fallback). A forged or foreign value is a
miss and a warning, never unpickled; so is one the app can't use (its shape
is checked by the app: tasks/cache.py).
"""

import logging
import os
import pickle

import pytest
from django.core.cache import cache
from django.test import override_settings

from config.memcached import MemCachierCache
from config.memcached import values as values_module
from config.memcached.problems import problems
from config.memcached.server import SET
from config.memcached.values import BYTES, KEPT_VALUES, PICKLED, SIGNED, Values
from tasks import cache as keys
from tasks.models import Task
from tests.conftest import stopped_log
from tests.visitor import Visitor


@pytest.fixture(autouse=True)
def fresh_log_limits():
    problems.forget()


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
    with caplog.at_level(logging.WARNING, logger="config.memcached"):
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


# --- the app, in another process -------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "forgery",
    ["a pickle that runs code", "an integer", "a string that is no version", "a signed value of another shape"],
)
def test_a_forged_list_version_costs_a_miss_never_code_or_a_500(start_app, tmp_path, forgery):
    marker = tmp_path / "ran"
    Task.objects.create(name="still shown")
    app = start_app()
    assert Visitor(app.url).get().status == 200
    if forgery == "a pickle that runs code":
        store_raw(keys.LIST_VERSION, PICKLED | SIGNED, os.urandom(32) + pickle.dumps(RunsCode(marker)))
    elif forgery == "an integer":
        store_raw(keys.LIST_VERSION, 2, b"12345")
    elif forgery == "a string that is no version":
        cache.set(keys.LIST_VERSION, "<script>")  # genuine: signed with the app's own key
    else:
        cache.set(keys.LIST_VERSION, ("a", "tuple"))
    pages = [Visitor(app.url).get() for _ in range(3)]
    log = stopped_log(app)
    assert [page.status for page in pages] == [200] * 3
    assert all('<span class="task-name">still shown</span>' in page.text for page in pages)
    assert pages[-1].headers["X-Cache"] == "HIT"  # a fresh version replaced it
    assert not marker.exists()
    if forgery == "a pickle that runs code":
        assert "not loaded" in log
