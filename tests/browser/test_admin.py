"""Staff edit tasks in the admin; the public list follows at once, and a
memcached flush logs nobody out."""

from urllib.parse import urlsplit

import pytest
from django.contrib.sessions.backends.cached_db import KEY_PREFIX as SESSION_KEY_PREFIX
from django.core.cache import cache
from playwright.sync_api import expect

from tasks.models import Task

pytestmark = pytest.mark.django_db(transaction=True)


def rename_in_admin(admin, old_name, new_name):
    admin.open("/admin/tasks/task/")
    admin.submit(admin.page.get_by_role("link", name=old_name, exact=True))
    admin.page.get_by_label("Task name").fill(new_name)
    response = admin.submit(admin.page.get_by_role("button", name="Save", exact=True))
    assert (response.status, urlsplit(response.url).path) == (200, "/admin/tasks/task/")
    expect(admin.page.locator(".messagelist .success")).to_have_text(f"The task “{new_name}” was changed successfully.")


def test_an_admin_edit_shows_on_the_public_list_at_once(open_visitor, admin_visitor):
    Task.objects.create(name="Buy milk")
    Task.objects.create(name="Walk the dog")
    public = open_visitor()
    public.open()
    assert public.reload().headers["x-cache"] == "HIT"
    assert public.task_names() == ["Walk the dog", "Buy milk"]

    rename_in_admin(admin_visitor, "Buy milk", "Buy oat milk")

    # The first reload shows it: no waiting for an expiry.
    public.reload()
    assert public.task_names() == ["Walk the dog", "Buy oat milk"]
    assert list(Task.objects.values_list("name", flat=True)) == ["Buy oat milk", "Walk the dog"]


def test_the_admin_stays_logged_in_when_memcached_is_flushed(open_visitor, admin_visitor):
    Task.objects.create(name="Buy milk")
    public = open_visitor()
    public.open()
    assert public.reload().headers["x-cache"] == "HIT"
    admin = admin_visitor
    session_in_memcached = SESSION_KEY_PREFIX + admin.cookie("sessionid")
    assert cache.get(session_in_memcached) is not None

    cache.clear()  # flush_all on the memcached gunicorn uses
    assert cache.get(session_in_memcached) is None
    assert public.reload().headers["x-cache"] == "MISS"

    response = admin.open("/admin/tasks/task/")
    assert urlsplit(response.url).path == "/admin/tasks/task/", f"sent to {response.url}"
    expect(admin.page.get_by_role("heading", name="Select task to change")).to_be_visible()
    expect(admin.page.locator("#user-tools")).to_contain_text("admin")

    # The session and the CSRF token still work for a write.
    rename_in_admin(admin, "Buy milk", "Buy milk after the flush")
    public.reload()
    assert public.task_names() == ["Buy milk after the flush"]
