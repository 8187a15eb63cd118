"""
Sessions live in the cache and the database (tasks/sessions.py): a flush
logs nobody out, and a logout is never undone by a cache outage.
"""

import re
import signal
import time
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends import cached_db
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import OperationalError, connection
from django.test import override_settings

from harness.reply_delay import ReplyDelay
from harness.services import Memcached, free_port
from harness.visitor import Visitor
from memcachier_cache.server import SET, Server
from tasks.sessions import LOGGED_OUT, SessionCacheUnavailable, SessionStore
from tests.conftest import HttpsClient

pytestmark = pytest.mark.django_db(transaction=True)

SAME_SITE = {"origin": "https://testserver"}


def token_of(response):
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode()).group(1)


def test_sessions_are_cached_with_database_write_through():
    # Django's cached_db, with logouts made safe (Django's own session
    # tests run on it too: test_sessions_django_suite.py).
    assert settings.SESSION_ENGINE == "tasks.sessions"
    assert issubclass(SessionStore, cached_db.SessionStore)


def test_a_logged_in_admin_stays_logged_in_across_flush_all(client, admin_user, memcached_meter):
    assert (
        client.post("/admin/login/?next=/admin/", {"username": admin_user.username, "password": "password"}).status_code
        == 302
    )
    assert client.get("/admin/").status_code == 200
    cache.clear()  # memcached flush_all, as after a restart
    with memcached_meter:
        response = client.get("/admin/")
    assert response.status_code == 200
    assert "Site administration" in response.content.decode()
    # The session was read back from the database and cached again.
    assert memcached_meter.ops["get_misses"] >= 1
    assert memcached_meter.sets >= 1
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize(
    "session_key",
    ["k" * 1000, "has spaces in it", "caf\u00e9" * 70],
    ids=["over 250 bytes", "spaces", "multibyte"],
)
def test_a_session_cookie_memcached_cant_take_is_a_new_session_not_a_500(
    csrf_client, admin_user, session_key, monkeypatch
):
    # MemCachierCache raises InvalidCacheKey for such a key, as Django's
    # memcached backends do; cached_db catches it (Django #17810) and starts
    # a fresh session, and nothing is sent to memcached with that key.
    sent = []
    send = Server._send
    monkeypatch.setattr(Server, "_send", lambda server, data: sent.append(data) or send(server, data))
    csrf_client.cookies["sessionid"] = session_key
    assert csrf_client.get("/").status_code == 200
    login_page = csrf_client.get("/admin/login/")
    assert login_page.status_code == 200
    assert sent and not any(session_key[:20].encode() in data for data in sent)
    login = csrf_client.post(
        "/admin/login/?next=/admin/",
        {"username": admin_user.username, "password": "password", "csrfmiddlewaretoken": token_of(login_page)},
        headers=SAME_SITE,
    )
    assert login.status_code == 302
    assert csrf_client.cookies["sessionid"].value != session_key
    assert csrf_client.get("/admin/").status_code == 200


def test_logout_with_a_session_cookie_memcached_cant_take_is_not_a_500(csrf_client):
    csrf_client.cookies["sessionid"] = "k" * 1000
    token = token_of(csrf_client.get("/admin/login/"))
    response = csrf_client.post("/admin/logout/", {"csrfmiddlewaretoken": token}, headers=SAME_SITE)
    assert (response.status_code, response["Location"]) == (302, "/admin/")


def log_in(visitor, user):
    response = visitor.post(
        "/admin/login/?next=/admin/", {"username": user.username, "password": "password"}, page="/admin/login/"
    )
    assert response.status == 302
    return visitor.cookies["sessionid"]


def wait_until_memcached_is_used_again(app, timeout=20.0):
    """The app skips a server that failed for a few seconds: until a page hit."""
    deadline = time.monotonic() + timeout
    visitor = Visitor(app.url)
    while visitor.get().headers["X-Cache"] != "HIT":
        assert time.monotonic() < deadline, "memcached was not used again"
        time.sleep(0.2)


def test_a_logout_memcached_cant_confirm_is_refused_and_never_undone(start_app, admin_user):
    """The review's case: log in, freeze memcached, log out, thaw it."""
    own = Memcached().start()
    try:
        app = start_app({"MEMCACHIER_SERVERS": own.address})
        visitor = Visitor(app.url)
        session_key = log_in(visitor, admin_user)
        assert visitor.get("/admin/").status == 200
        token_page = visitor.get("/admin/")

        own.process.send_signal(signal.SIGSTOP)  # hung, and keeps its data
        try:
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', token_page.text).group(1)
            logout = visitor.request("POST", "/admin/logout/", {"csrfmiddlewaretoken": token})
        finally:
            own.process.send_signal(signal.SIGCONT)
        assert logout.status == 503
        assert logout.headers["Retry-After"] == "10"
        assert "Logout not confirmed" in logout.text
        # Nothing changed: the session is in the database and still works.
        assert Session.objects.filter(session_key=session_key).exists()
        wait_until_memcached_is_used_again(app)
        assert visitor.get("/admin/").status == 200

        # With memcached back, the logout goes through, and stays done.
        logged_out = visitor.post("/admin/logout/", {}, page="/admin/")
        assert (logged_out.status, "Logged out" in logged_out.text) == (200, True)
        assert not Session.objects.filter(session_key=session_key).exists()
        old_cookie = Visitor(app.url)
        old_cookie.cookies["sessionid"] = session_key
        assert old_cookie.get("/admin/").status == 302  # to the login page
    finally:
        own.stop()


CACHE_DOWN = {"BACKEND": "memcachier_cache.MemCachierCache", "LOCATION": [f"127.0.0.1:{free_port()}"]}


def test_a_logout_while_memcached_is_down_is_a_503_that_changes_nothing(client, admin_user):
    client.force_login(admin_user)
    session_key = client.cookies["sessionid"].value
    with override_settings(CACHES={"default": CACHE_DOWN, "template_fragments": CACHE_DOWN}):
        response = client.post("/admin/logout/")
        assert response.status_code == 503
        assert "could not be confirmed: the session cache did not answer in time" in response.content.decode()
        assert client.get("/admin/").status_code == 200
    assert Session.objects.filter(session_key=session_key).exists()


def test_renewing_a_live_login_while_memcached_is_down_is_refused_and_changes_nothing(admin_user):
    # cycle_key of a session whose login is still valid (an app's own, before
    # a sensitive step): the old key must not come back from the cache.
    session = SessionStore()
    session[SESSION_KEY] = str(admin_user.pk)
    session[HASH_SESSION_KEY] = admin_user.get_session_auth_hash()
    session.save()
    key = session.session_key
    with override_settings(CACHES={"default": CACHE_DOWN, "template_fragments": CACHE_DOWN}):
        renewing = SessionStore(key)
        renewing.load()
        with pytest.raises(SessionCacheUnavailable):
            renewing.cycle_key()
    assert renewing.session_key == key
    assert Session.objects.filter(session_key=key).exists()


def test_a_password_change_while_memcached_is_down_ends_the_old_session(client, admin_user):
    # Its auth hash no longer matches: Django's own check ends the old
    # session wherever it comes back from, so nothing needs burying.
    client.post("/admin/login/?next=/admin/", {"username": admin_user.username, "password": "password"})
    old_key = client.cookies["sessionid"].value
    old_session = SessionStore(old_key).load()
    change = {"old_password": "password", "new_password1": "a-new-Pw-51c0e", "new_password2": "a-new-Pw-51c0e"}
    with override_settings(CACHES={"default": CACHE_DOWN, "template_fragments": CACHE_DOWN}):
        response = client.post("/admin/password_change/", change)
        assert (response.status_code, response["Location"]) == (302, "/admin/password_change/done/")
        assert client.cookies["sessionid"].value != old_key
        assert client.get("/admin/").status_code == 200
    # memcached comes back with the old session in it: it logs nobody in.
    cache.set(SessionStore.cache_key_prefix + old_key, old_session)
    old_cookie = HttpsClient()
    old_cookie.cookies["sessionid"] = old_key
    assert old_cookie.get("/admin/")["Location"].startswith("/admin/login/")


def test_logging_in_works_while_memcached_is_down(client, admin_user):
    # From an anonymous session nothing needs burying: the login goes on.
    with override_settings(CACHES={"default": CACHE_DOWN, "template_fragments": CACHE_DOWN}):
        client.get("/admin/login/")
        response = client.post("/admin/login/?next=/admin/", {"username": admin_user.username, "password": "password"})
        assert response.status_code == 302
        assert client.get("/admin/").status_code == 200


def test_a_reader_that_read_the_row_before_a_logout_cannot_bring_it_back(admin_user, monkeypatch):
    # The stale-set race, for sessions: a request misses the cache, reads the
    # row, a logout commits, then the request caches what it read.
    session = SessionStore()
    session["_auth_user_id"] = str(admin_user.pk)
    session.save()
    key = session.session_key
    cache.delete(SessionStore.cache_key_prefix + key)  # as if evicted

    reader = SessionStore(key)
    read_row = SessionStore._get_session_from_db

    def read_then_logout(store):
        row = read_row(store)
        SessionStore(key).flush()  # the logout, between the read and the re-cache
        return row

    monkeypatch.setattr(reader, "_get_session_from_db", lambda: read_then_logout(reader))
    assert reader.load()["_auth_user_id"] == str(admin_user.pk)  # what it read, before
    assert cache.get(SessionStore.cache_key_prefix + key) == LOGGED_OUT
    assert SessionStore(key).load() == {}


def test_a_save_that_cached_the_session_during_a_logout_is_buried_again(admin_user, monkeypatch):
    # Another request of the same session saves it (row updated, then cached)
    # just as the logout runs: after its tombstone, before its row delete.
    session = SessionStore()
    session["_auth_user_id"] = str(admin_user.pk)
    session.save()
    key = session.session_key
    writer = SessionStore(key)
    writer.load()
    writer["seen"] = True

    logout = SessionStore(key)
    logout.load()
    delete_row = cached_db.DBStore.delete

    def save_then_delete_row(store, session_key=None):
        monkeypatch.setattr(cached_db.DBStore, "delete", delete_row)  # once: load() of a tombstone deletes too
        writer.save()  # row updated, then the session cached over the first tombstone
        assert cache.get(SessionStore.cache_key_prefix + key)["seen"] is True
        delete_row(store, session_key)

    monkeypatch.setattr(cached_db.DBStore, "delete", save_then_delete_row)
    logout.flush()
    assert cache.get(SessionStore.cache_key_prefix + key) == LOGGED_OUT
    assert SessionStore(key).load() == {}
    assert not Session.objects.filter(session_key=key).exists()


def test_a_save_that_cached_the_session_after_a_whole_logout_buries_it(admin_user, monkeypatch):
    # The other order: the save updated the row before the logout deleted
    # it, and cached the session only after the logout's last tombstone.
    session = SessionStore()
    session[SESSION_KEY] = str(admin_user.pk)
    session.save()
    key = session.session_key
    writer = SessionStore(key)
    writer.load()
    writer["seen"] = True
    save_row = cached_db.DBStore.save

    def save_row_then_log_out(store, must_create=False):
        save_row(store, must_create)
        monkeypatch.setattr(cached_db.DBStore, "save", save_row)
        logout = SessionStore(key)
        logout.load()
        logout.flush()

    monkeypatch.setattr(cached_db.DBStore, "save", save_row_then_log_out)
    writer.save()
    assert cache.get(SessionStore.cache_key_prefix + key) == LOGGED_OUT
    assert SessionStore(key).load() == {}


def tombstone_of(session_key):
    return cache.get(SessionStore.cache_key_prefix + session_key)


def through(proxy):
    """The app's caches on memcached, reached through proxy."""
    memcached = settings.CACHES["default"]["LOCATION"]
    return override_settings(
        CACHES={
            alias: {**config, "LOCATION": [proxy.address]} if config.get("LOCATION") == memcached else config
            for alias, config in settings.CACHES.items()
        }
    )


def test_a_logout_whose_tombstone_landed_after_the_answer_timed_out_is_finished_by_the_next_request(client, admin_user):
    """The review's case: memcached stores the tombstone, but its answer comes
    after MEMCACHIER_TIMEOUT; then memcached is flushed."""
    client.force_login(admin_user)
    key = client.cookies["sessionid"].value
    memcached = settings.CACHES["default"]
    late = 2 * memcached["OPTIONS"]["socket_timeout"]
    with ReplyDelay(memcached["LOCATION"][0], SET, seconds=late) as proxy, through(proxy):
        logout = client.post("/admin/logout/")
        proxy.wait_for_held(1)  # memcached did the set: only its answer is late
    assert (logout.status_code, logout["Retry-After"]) == (503, "10")
    assert "Logout not confirmed" in logout.content.decode()
    assert "Nothing has changed" not in logout.content.decode()
    assert proxy.held == 1  # the tombstone's set, and no other
    assert tombstone_of(key) == LOGGED_OUT
    assert Session.objects.filter(session_key=key).exists()  # the logout stopped there

    # The next request with the cookie (from another process, or this one
    # once its skip window is over) reads the tombstone: logged out, and
    # the row goes too.
    response = client.get("/admin/")
    assert response["Location"].startswith("/admin/login/")
    assert client.cookies["sessionid"].value == ""  # deleted
    assert not Session.objects.filter(session_key=key).exists()

    cache.clear()  # the tombstone goes: a restart, flush_all, an eviction
    old_cookie = HttpsClient()
    old_cookie.cookies["sessionid"] = key
    assert old_cookie.get("/admin/")["Location"].startswith("/admin/login/")


@contextmanager
def session_row_locked(session_key):
    """Deleting the session's row fails with a real database error: another
    connection holds the row's lock, and this one waits for it 100 ms
    (PostgreSQL's lock_not_available, an OperationalError). Reads go on."""
    other = connection.Database.connect(**connection.get_connection_params())
    try:
        with other.cursor() as cursor:  # its transaction stays open
            cursor.execute("SELECT 1 FROM django_session WHERE session_key = %s FOR UPDATE", [session_key])
            assert cursor.rowcount == 1
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '100ms'")
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
        other.close()  # and its lock with it


def test_a_database_error_after_the_tombstone_takes_it_back_so_the_logout_changes_nothing(client, admin_user):
    client.force_login(admin_user)
    key = client.cookies["sessionid"].value
    with session_row_locked(key):
        logout = client.post("/admin/logout/")
    assert (logout.status_code, logout["Retry-After"]) == (503, "10")
    assert "Your last change may not have been saved" in logout.content.decode()
    # The tombstone was taken back, and Django's SessionMiddleware neither
    # saves the flushed session on a 5xx nor deletes the cookie (the flush
    # raised before it dropped the key).
    assert "sessionid" not in logout.cookies
    assert client.cookies["sessionid"].value == key
    assert tombstone_of(key) is None
    assert Session.objects.filter(session_key=key).exists()
    assert client.get("/admin/").status_code == 200
    cache.clear()
    assert client.get("/admin/").status_code == 200  # still logged in: nothing changed

    retried = client.post("/admin/logout/")
    assert (retried.status_code, "Logged out" in retried.content.decode()) == (200, True)
    assert not Session.objects.filter(session_key=key).exists()
    cache.clear()
    old_cookie = HttpsClient()
    old_cookie.cookies["sessionid"] = key
    assert old_cookie.get("/admin/")["Location"].startswith("/admin/login/")


def logged_in_session(user):
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session.save()
    return session.session_key


def test_loading_a_tombstone_deletes_the_session_row_and_is_idempotent(admin_user):
    key = logged_in_session(admin_user)
    cache.set(SessionStore.cache_key_prefix + key, LOGGED_OUT)  # a refused logout's, that landed
    for _ in range(2):
        store = SessionStore(key)
        assert store.load() == {}
        assert store.session_key is None
        assert not Session.objects.filter(session_key=key).exists()
    assert tombstone_of(key) == LOGGED_OUT


def test_loading_a_tombstone_while_the_database_fails_raises_and_keeps_both_for_a_retry(admin_user):
    key = logged_in_session(admin_user)
    cache.set(SessionStore.cache_key_prefix + key, LOGGED_OUT)
    with session_row_locked(key), pytest.raises(OperationalError):
        SessionStore(key).load()
    assert Session.objects.filter(session_key=key).exists()
    assert tombstone_of(key) == LOGGED_OUT
    assert SessionStore(key).load() == {}
    assert not Session.objects.filter(session_key=key).exists()
