"""Sessions live in the cache and the database: a flush logs nobody out."""

import pytest
from django.conf import settings
from django.core.cache import cache

pytestmark = pytest.mark.django_db(transaction=True)


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
