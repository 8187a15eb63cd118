"""SASL: the backend logs in to a memcached that requires it, as MemCachier does.

A real memcached started with -S (conftest.py's sasl_memcached), checking
logins against a sasldb made with saslpasswd2. With the right credentials
the cache works; with wrong ones or none, every operation degrades (as
test_faults.py checks) and the process logs one clear error that names the
settings to check, never their values. An app configured from MEMCACHIER_*
under gunicorn is this project's tests/test_sasl.py.
"""

import logging
import re

import bmemcached
import pytest
from bmemcached.exceptions import MemcachedException

from memcachier_cache import MemCachierCache
from memcachier_cache.server import AUTH_ERROR
from memcachier_cache.tests.conftest import SASL_PASSWORD, SASL_USER

WRONG_PASSWORD = "wrong-Pw-0f6d2a71-never-in-any-log"


def backend(server, username, password):
    return MemCachierCache([server.address], {"OPTIONS": {"username": username, "password": password}})


@pytest.fixture
def server_stats(sasl_memcached):
    """The server's own counters, read over one login of plain bmemcached's
    (the backend under test would skip a server its own login failed on)."""
    client = bmemcached.Client([sasl_memcached.address], SASL_USER, SASL_PASSWORD)

    def read():
        (stats,) = client.stats().values()
        return {name: int(stats[name]) for name in ("auth_cmds", "auth_errors", "get_hits", "cmd_set")}

    read()  # log in now, so later readings count only the backend's logins
    yield read
    client.disconnect_all()


def test_the_server_refuses_anyone_who_has_not_logged_in(sasl_memcached):
    # The control: without it, the tests below could pass on a server that
    # doesn't check logins at all.
    with pytest.raises(MemcachedException) as refused:
        bmemcached.Client([sasl_memcached.address]).get("anything")
    assert refused.value.code == AUTH_ERROR


def test_the_right_credentials_log_in_and_the_cache_works(sasl_memcached, server_stats, caplog):
    before = server_stats()
    cache = backend(sasl_memcached, SASL_USER, SASL_PASSWORD)
    with caplog.at_level(logging.DEBUG, logger="memcachier_cache"):
        assert cache.set("k", {"cached": "over sasl"}) is True
        assert cache.get("k") == {"cached": "over sasl"}
        assert cache.add("n", 1) is True
        assert cache.incr("n") == 2
    after = server_stats()
    assert after["auth_cmds"] > before["auth_cmds"]
    assert after["auth_errors"] == before["auth_errors"]
    assert after["cmd_set"] > before["cmd_set"]
    assert after["get_hits"] > before["get_hits"]
    assert caplog.records == []


@pytest.mark.parametrize(
    "username, password, message",
    [
        (SASL_USER, WRONG_PASSWORD, "refused the SASL login"),
        ("no-such-user", SASL_PASSWORD, "refused the SASL login"),
        (None, None, "requires a SASL login"),
    ],
    ids=["wrong password", "unknown user", "no credentials"],
)
def test_wrong_credentials_degrade_with_one_clear_error(
    sasl_memcached, server_stats, caplog, username, password, message
):
    before = server_stats()
    cache = backend(sasl_memcached, username, password)
    with caplog.at_level(logging.DEBUG, logger="memcachier_cache"):
        for _ in range(10):
            assert cache.get("k", "miss") == "miss"
            assert cache.set("k", 1) is False
            assert cache.set_now("k", 1) is False  # tried anyway: refused again, not logged again

    # One line for all of it, not one per operation, and it says what to fix.
    (record,) = caplog.records
    assert (record.name, record.levelname) == ("memcachier_cache", "ERROR")
    assert re.fullmatch(
        rf"memcached {re.escape(sasl_memcached.address)} {message}.*MEMCACHIER_USERNAME and MEMCACHIER_PASSWORD.*",
        record.getMessage(),
    ), record.getMessage()
    assert SASL_PASSWORD not in caplog.text and WRONG_PASSWORD not in caplog.text

    after = server_stats()
    if username:
        assert after["auth_errors"] > before["auth_errors"]
    assert after["cmd_set"] == before["cmd_set"]
