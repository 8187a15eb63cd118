"""Sessions live in the cache and the database: a flush logs nobody out."""

import re

import pytest
from django.conf import settings
from django.core.cache import cache

from config.memcached.server import Server

pytestmark = pytest.mark.django_db(transaction=True)

SAME_SITE = {"origin": "https://testserver"}


def token_of(response):
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode()).group(1)


def test_sessions_are_cached_with_database_write_through():
    assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.cached_db"


def test_a_logged_in_admin_stays_logged_in_across_flush_all(client, admin_user, memcached_meter):
    assert client.post(
        "/admin/login/?next=/admin/", {"username": admin_user.username, "password": "password"}
    ).status_code == 302
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
