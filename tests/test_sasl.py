"""SASL: the app logs in to a memcached that requires it, as MemCachier does.

A real memcached started with -S, checking logins against a sasldb made with
saslpasswd2. The app runs under gunicorn, configured from MEMCACHIER_* exactly
as in production, and its log is read afterwards. The backend's own login
and its error are checked in memcachier_cache/tests/test_sasl.py.
"""

import re

import bmemcached
import pytest
from bmemcached.exceptions import MemcachedException

from harness.visitor import Visitor
from memcachier_cache import MemCachierCache
from memcachier_cache.server import AUTH_ERROR
from tasks.models import Task
from tests.conftest import SASL_PASSWORD, SASL_USER, stopped_log


@pytest.fixture(scope="module")
def server_stats(sasl_memcached):
    """The server's own counters, read over one login of our own."""
    cache = MemCachierCache([sasl_memcached.address], {"OPTIONS": {"username": SASL_USER, "password": SASL_PASSWORD}})

    def read():
        (stats,) = cache.server_stats().values()
        return {name: int(stats[name]) for name in ("auth_cmds", "auth_errors", "get_hits", "cmd_set")}

    read()  # log in now, so later readings count only the app's logins
    return read


@pytest.fixture
def run_app(start_app, sasl_memcached):
    def run(username, password):
        return start_app(
            {
                "MEMCACHIER_SERVERS": sasl_memcached.address,
                "MEMCACHIER_USERNAME": username,
                "MEMCACHIER_PASSWORD": password,
            }
        )

    return run


def memcached_lines(log):
    return [line for line in log.splitlines() if "memcachier_cache" in line]


def test_the_server_refuses_anyone_who_has_not_logged_in(sasl_memcached):
    # The control: without it, the tests below could pass on a server that
    # doesn't check logins at all.
    with pytest.raises(MemcachedException) as refused:
        bmemcached.Client([sasl_memcached.address]).get("anything")
    assert refused.value.code == AUTH_ERROR


@pytest.mark.django_db(transaction=True)
def test_the_right_credentials_log_in_and_the_cache_works(run_app, server_stats):
    Task.objects.create(name="cached over sasl")
    before = server_stats()
    app = run_app(SASL_USER, SASL_PASSWORD)
    visitor = Visitor(app.url)
    first, second = visitor.get(), visitor.get()
    log = stopped_log(app)

    # The page was stored, then read back: set and get both went through.
    assert (first.headers["X-Cache"], second.headers["X-Cache"]) == ("MISS", "HIT")
    assert '<span class="task-name">cached over sasl</span>' in second.text
    after = server_stats()
    assert after["auth_cmds"] > before["auth_cmds"]
    assert after["auth_errors"] == before["auth_errors"]
    assert after["cmd_set"] > before["cmd_set"]
    assert after["get_hits"] > before["get_hits"]
    assert memcached_lines(log) == []
    assert SASL_PASSWORD not in log


WRONG_PASSWORD = "wrong-Pw-5c1e88aa-never-in-any-log"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "username, password, message",
    [
        (SASL_USER, WRONG_PASSWORD, "refused the SASL login"),
        ("no-such-user", SASL_PASSWORD, "refused the SASL login"),
        ("", "", "requires a SASL login"),
    ],
    ids=["wrong password", "unknown user", "no credentials"],
)
def test_wrong_credentials_serve_from_the_database_with_one_clear_error(
    run_app, server_stats, username, password, message
):
    Task.objects.create(name="from the database")
    before = server_stats()
    app = run_app(username, password)
    visitor = Visitor(app.url)
    pages = [visitor.get() for _ in range(10)]
    added = visitor.post("/", {"name": "added without a cache"})
    after_adding = visitor.get()
    log = stopped_log(app)

    for page in pages:
        assert page.status == 200
        assert page.headers["X-Cache"] == "MISS"
        assert '<span class="task-name">from the database</span>' in page.text
    assert added.status == 302
    assert '<span class="task-name">added without a cache</span>' in after_adding.text

    # One line for the whole run, not one per request or per operation, and
    # it says what to fix.
    lines = memcached_lines(log)
    assert len(lines) == 1, log
    assert re.fullmatch(
        rf"ERROR memcachier_cache: memcached {re.escape(app.env['MEMCACHIER_SERVERS'])} {message}"
        r".*MEMCACHIER_USERNAME and MEMCACHIER_PASSWORD.*",
        lines[0],
    ), lines[0]
    assert "Traceback" not in log
    assert SASL_PASSWORD not in log and WRONG_PASSWORD not in log

    after = server_stats()
    if username:
        assert after["auth_errors"] > before["auth_errors"]
    assert after["cmd_set"] == before["cmd_set"]
