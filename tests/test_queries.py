"""get_all_tasks: the memoized task list query."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tasks import keys
from tasks.models import Task
from tasks.pages import NEWEST, load_rows
from tasks.queries import get_page_rows

pytestmark = pytest.mark.django_db(transaction=True)


def counted(meter):
    with CaptureQueriesContext(connection) as queries, meter:
        tasks = get_page_rows(NEWEST)
    return tasks, len(queries)


def test_miss_queries_once_then_hits_without_sql(memcached_meter):
    Task.objects.create(name="a")
    tasks, sql = counted(memcached_meter)
    assert [t["name"] for t in tasks] == ["a"]
    assert sql == 1
    # version+list, then the rebuild lock and the store.
    assert memcached_meter.round_trips == 3
    tasks, sql = counted(memcached_meter)
    assert [t["name"] for t in tasks] == ["a"]
    assert sql == 0
    assert memcached_meter.round_trips == 1


def test_an_empty_list_is_cached_too(memcached_meter):
    assert counted(memcached_meter) == ([], 1)
    assert counted(memcached_meter) == ([], 0)


def test_stored_with_the_version_it_was_read_under():
    Task.objects.create(name="a")
    get_page_rows(NEWEST)
    version, entry = cache.get(keys.LIST_VERSION), cache.get(keys.task_list(NEWEST))
    assert entry == (version, load_rows(NEWEST))


def test_query_layer_off_always_queries(settings):
    settings.CACHE_LAYERS = set()
    get_page_rows(NEWEST)
    with CaptureQueriesContext(connection) as queries:
        get_page_rows(NEWEST)
    assert len(queries) == 1


def test_a_lost_version_is_replaced_by_a_fresh_one_not_a_reused_one():
    Task.objects.create(name="a")
    get_page_rows(NEWEST)
    old_version = cache.get(keys.LIST_VERSION)
    cache.delete(keys.LIST_VERSION)  # as if evicted
    Task.objects.filter(name="a").update(name="b")
    cache.delete(keys.LIST_VERSION)  # evicted again, after the bump
    assert [t["name"] for t in get_page_rows(NEWEST)] == ["b"]
    assert cache.get(keys.LIST_VERSION) not in (None, old_version)
