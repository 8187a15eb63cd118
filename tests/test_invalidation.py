"""Every write path bumps the list version, after commit, never on rollback."""

import urllib.request

import pytest
from django.core.cache import cache
from django.db import transaction

from tasks import keys
from tasks.models import Task
from tasks.pages import NEWEST
from tasks.queries import get_page_rows

pytestmark = pytest.mark.django_db(transaction=True)


def version():
    return cache.get(keys.LIST_VERSION)


@pytest.fixture
def cached_list():
    Task.objects.create(name="one")
    Task.objects.create(name="two")
    get_page_rows(NEWEST)
    return version()


WRITES = {
    "save": lambda: Task.objects.create(name="three"),
    "edit": lambda: Task.objects.get(name="one").save(),
    "delete": lambda: Task.objects.get(name="one").delete(),
    "queryset_delete": lambda: Task.objects.filter(name="one").delete(),
    "queryset_update": lambda: Task.objects.filter(name="one").update(name="uno"),
    "bulk_create": lambda: Task.objects.bulk_create([Task(name="x"), Task(name="y")]),
    "bulk_update": lambda: Task.objects.bulk_update([Task(pk=Task.objects.get(name="one").pk, name="eins")], ["name"]),
}


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
def test_every_write_path_invalidates_after_commit(cached_list, write):
    with transaction.atomic():
        write()
        assert version() == cached_list, "invalidated before the commit"
    assert version() not in (None, cached_list)
    assert [t["name"] for t in get_page_rows(NEWEST)] == list(
        Task.objects.order_by("-id").values_list("name", flat=True)
    )


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
def test_a_rolled_back_write_invalidates_nothing(cached_list, write):
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        write()
        raise ZeroDivisionError("roll back")
    assert version() == cached_list


def test_update_moves_updated_at_so_row_fragments_change(cached_list):
    before = Task.objects.get(name="one").updated_at
    Task.objects.filter(name="one").update(name="uno")
    assert Task.objects.get(name="uno").updated_at > before


def test_admin_delete_selected_invalidates(client, admin_user, cached_list):
    client.force_login(admin_user)
    ids = list(Task.objects.values_list("pk", flat=True))
    response = client.post(
        "/admin/tasks/task/",
        {"action": "delete_selected", "_selected_action": ids, "post": "yes"},
    )
    assert response.status_code == 302
    assert not Task.objects.exists()
    assert version() != cached_list
    assert get_page_rows(NEWEST) == []


def read_page(app_server):
    with urllib.request.urlopen(app_server.url + "/") as response:
        return response.headers["X-Cache"], response.read().decode()


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
def test_the_next_read_in_another_process_shows_the_write(app_server, write):
    Task.objects.create(name="one")
    Task.objects.create(name="two")
    read_page(app_server)
    assert read_page(app_server)[0] == "HIT"
    write()
    cache_status, page = read_page(app_server)
    assert cache_status == "MISS"
    for name in Task.objects.values_list("name", flat=True):
        assert f'<span class="task-name">{name}</span>' in page
    assert page.count('<li><span class="task-name">') == Task.objects.count()
