"""
The task list a page at a time (tasks/pages.py): newest first, by keyset,
every caching layer per page, and a page's cost, in SQL, round trips and
cached bytes, the same whatever the list's length.
"""

import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tasks import keys, list_version
from tasks.models import NAME_MAX_LENGTH, Task
from tasks.pages import NEWEST, PAGE_SIZE, Cursor, newest_tasks
from tests.conftest import HttpsClient

pytestmark = pytest.mark.django_db(transaction=True)

NAME = re.compile(r'<span class="task-name">([^<]*)</span>')
OLDER = re.compile(r'href="/\?before=(\d+)" rel="next"')
NEWER = re.compile(r'href="/\?after=(\d+)" rel="prev"')
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def make_tasks(count, length=12):
    Task.objects.bulk_create([Task(name=f"task {i} ".ljust(length, "x")[:length]) for i in range(count)])


def names(response):
    return NAME.findall(response.content.decode())


def all_names_newest_first():
    return list(Task.objects.order_by("-id").values_list("name", flat=True))


def test_the_newest_page_shows_the_newest_tasks_and_links_to_older(client):
    make_tasks(PAGE_SIZE + 10)
    page = client.get("/")
    assert names(page) == all_names_newest_first()[:PAGE_SIZE]
    oldest_shown = Task.objects.order_by("-id")[PAGE_SIZE - 1].pk
    assert OLDER.findall(page.content.decode()) == [str(oldest_shown)]
    assert not NEWER.search(page.content.decode())  # nothing is newer


def test_older_and_newer_links_walk_the_whole_list_once_each_way(client):
    make_tasks(3 * PAGE_SIZE + 7)
    seen, path = [], "/"
    while True:
        page = client.get(path)
        seen += names(page)
        older = OLDER.search(page.content.decode())
        if not older:
            break
        path = f"/?before={older.group(1)}"
    assert seen == all_names_newest_first()
    back = []
    while True:
        newer = NEWER.search(page.content.decode())
        if not newer:
            break
        page = client.get(f"/?after={newer.group(1)}")
        back = names(page) + back
    assert back == all_names_newest_first()[: len(back)] and len(back) == 3 * PAGE_SIZE


def test_a_page_costs_the_same_sql_and_round_trips_at_any_length(client, memcached_meter):
    costs = []
    for count in (PAGE_SIZE * 2, PAGE_SIZE * 60):
        Task.objects.all().delete()
        make_tasks(count)
        middle = Task.objects.order_by("-id")[PAGE_SIZE // 2].pk
        with CaptureQueriesContext(connection) as queries, memcached_meter:
            miss = client.get(f"/?before={middle}")
        with CaptureQueriesContext(connection) as hit_queries, memcached_meter:
            hit = client.get(f"/?before={middle}")
        assert (miss["X-Cache"], hit["X-Cache"]) == ("MISS", "HIT")
        assert (len(hit_queries), memcached_meter.round_trips) == (0, 1)
        costs.append((len(queries), len(names(miss))))
    assert costs[0] == costs[1] == (1, PAGE_SIZE)


def test_each_page_is_its_own_entry_in_every_layer(client):
    make_tasks(PAGE_SIZE + 5)
    client.get("/")
    older = Cursor(before=Task.objects.order_by("-id")[PAGE_SIZE - 1].pk)
    client.get(f"/{older.query}")
    version = list_version.current_list_version()
    for cursor in (NEWEST, older):
        assert list_version.read_versioned(keys.index_page(cursor), bytes)[1] is not None
        assert list_version.read_versioned(keys.task_list(cursor), list)[1] is not None
        assert cache.get(keys.list_fragment(version, cursor)) is not None
    assert client.get(f"/{older.query}")["X-Cache"] == "HIT"


def test_other_query_parameters_share_the_page_entry(client):
    make_tasks(PAGE_SIZE + 5)
    before = Task.objects.order_by("-id")[PAGE_SIZE - 1].pk
    assert client.get(f"/?before={before}")["X-Cache"] == "MISS"
    assert client.get(f"/?before={before}&utm_source=x")["X-Cache"] == "HIT"


@pytest.mark.parametrize(
    "query", ["before=abc", "before=-1", "before=0", "before=99999999999999999999", "before=1&after=2", "after=１２"]
)
def test_a_cursor_that_names_no_page_gets_a_clear_404_and_stores_nothing(client, memcached_meter, query):
    make_tasks(3)
    with memcached_meter:
        response = client.get(f"/?{query}")
    assert response.status_code == 404
    assert "There is no such page of the task list" in response.content.decode()
    assert memcached_meter.sets == 0


def test_a_task_you_add_is_on_the_page_you_land_on(client):
    make_tasks(PAGE_SIZE * 2)
    client.get("/")
    form = HttpsClient(enforce_csrf_checks=True)
    token = TOKEN.search(form.get("/").content.decode()).group(1)
    added = form.post(
        "/", {"name": "just added", "csrfmiddlewaretoken": token}, headers={"origin": "https://testserver"}
    )
    assert (added.status_code, added["Location"]) == (302, "/")
    assert names(form.get("/"))[0] == "just added"


def test_deleting_a_task_returns_to_the_page_you_were_on(client):
    make_tasks(PAGE_SIZE * 3)
    visitor = HttpsClient(enforce_csrf_checks=True)
    before = Task.objects.order_by("-id")[PAGE_SIZE - 1].pk
    page = visitor.get(f"/?before={before}")
    shown = Task.objects.get(name=names(page)[3])
    token = TOKEN.search(page.content.decode()).group(1)
    deleted = visitor.post(
        f"/{shown.pk}/delete",
        {"csrfmiddlewaretoken": token, "before": str(before)},
        headers={"origin": "https://testserver"},
    )
    assert (deleted.status_code, deleted["Location"]) == (302, f"/?before={before}")
    assert shown.name not in names(visitor.get(deleted["Location"]))


def test_an_entry_holds_one_page_whatever_the_lists_length(client):
    sizes = []
    for count in (PAGE_SIZE * 2, PAGE_SIZE * 60):
        Task.objects.all().delete()
        make_tasks(count, length=NAME_MAX_LENGTH)
        client.get("/")
        version = list_version.current_list_version()
        named = [keys.index_page(NEWEST), keys.task_list(NEWEST), keys.list_fragment(version, NEWEST)]
        stored = cache.stored_sizes(named)
        assert set(stored) == set(named)
        sizes.append(sum(stored.values()))
    # The longer list's ids have more digits; nothing else grows.
    assert sizes[1] <= sizes[0] * 1.05
    # Far under memcached's 1 MB item limit, even with the longest names.
    assert sizes[1] < 200_000


def stored_page(version):
    """{key: bytes as stored} of the newest page's entries for a version."""
    rows = newest_tasks()
    return cache.stored_sizes(keys.page_keys(rows, version, NEWEST))


def test_a_write_adds_about_one_pages_worth_of_bytes_whatever_the_length(client):
    # Read key by key: memcached's own `bytes` total moves by itself while it
    # reclaims what an earlier test's flush_all left behind.
    added = []
    for count in (PAGE_SIZE * 2, PAGE_SIZE * 60):
        Task.objects.all().delete()
        make_tasks(count, length=NAME_MAX_LENGTH)
        client.get("/")
        before = stored_page(list_version.current_list_version())
        Task.objects.filter(pk=Task.objects.order_by("-id")[0].pk).update(name="edited")
        client.get("/")
        after = stored_page(list_version.current_list_version())
        # New keys count whole; a key written again counts what it grew by.
        added.append(sum(size - before.get(key, 0) for key, size in after.items() if size > before.get(key, 0)))
    assert 0 < added[0] < 100_000
    assert added[1] <= added[0] * 1.1
