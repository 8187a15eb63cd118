"""{% typed_cache %} list fragment and the batched row fragments (Russian doll)."""

import pytest
from django.core.cache import cache

from tasks import keys
from tasks.models import Task
from tasks.pages import NEWEST, load_rows

pytestmark = pytest.mark.django_db(transaction=True)


def row_keys():
    return [keys.task_row(task) for task in load_rows(NEWEST)]


def test_rows_and_the_list_are_cached_under_their_keys(client):
    Task.objects.create(name="a")
    Task.objects.create(name="b")
    client.get("/")
    rows = cache.get_many(row_keys())
    assert len(rows) == 2
    assert all('<span class="task-name">' in html for html in rows.values())
    outer = cache.get(keys.list_fragment(cache.get(keys.LIST_VERSION), NEWEST))
    assert all(html in outer for html in rows.values())


def test_no_cached_fragment_holds_a_csrf_token(client):
    Task.objects.create(name="a")
    client.get("/")
    token = client.cookies["csrftoken"].value
    rows = list(cache.get_many(row_keys()).values())
    outer = cache.get(keys.list_fragment(cache.get(keys.LIST_VERSION), NEWEST))
    # One form around the list: its one slot, filled per visitor, and no
    # form, slot or token in any row.
    assert outer.count("CSRF-SLOT") == 1
    for html in [outer, *rows]:
        assert token not in html
    assert rows and not any("CSRF-SLOT" in row or "<form" in row for row in rows)


def test_an_admin_edit_shows_at_once_with_a_new_row_key(client, admin_user):
    task = Task.objects.create(name="before")
    client.get("/")
    old_key = keys.task_row(load_rows(NEWEST)[0])
    client.force_login(admin_user)
    response = client.post(f"/admin/tasks/task/{task.pk}/change/", {"name": "after"})
    assert response.status_code == 302
    client.logout()
    page = client.get("/").content.decode()
    assert '<span class="task-name">after</span>' in page
    assert "before" not in page
    assert keys.task_row(load_rows(NEWEST)[0]) != old_key


def test_two_tasks_with_one_name_do_not_share_a_row(client):
    first = Task.objects.create(name="same")
    second = Task.objects.create(name="same")
    page = client.get("/").content.decode()
    assert f'action="/{first.pk}/delete"' in page
    assert f'action="/{second.pk}/delete"' in page


def test_fragments_off_renders_without_storing(client, settings):
    from django.core.cache import caches

    settings.CACHES = {
        **settings.CACHES,
        "template_fragments": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"},
    }
    settings.CACHE_LAYERS = {"query"}
    Task.objects.create(name="a")
    assert "a</span>" in client.get("/").content.decode()
    assert caches["default"].get_many(row_keys()) == {}
