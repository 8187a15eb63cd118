"""The stale-set race, scripted step by step: a slow reader can't win it."""

import pytest
from django.core.cache import cache

from tasks import keys, list_version
from tasks.models import Task
from tasks.pages import NEWEST, load_rows
from tasks.queries import get_page_rows

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_slow_reader_storing_old_rows_after_a_write_leaves_the_next_read_fresh():
    Task.objects.create(name="old")
    # Reader: the list is not cached; it reads the version, then the rows.
    version, cached = list_version.read_versioned(keys.task_list(NEWEST), list)
    assert cached is None
    old_rows = load_rows(NEWEST)
    # Writer: commits a new task; the version is bumped on commit.
    Task.objects.create(name="new")
    # Reader, late: stores the rows it read before the write.
    list_version.store_versioned(keys.task_list(NEWEST), version, old_rows)
    assert cache.get(keys.task_list(NEWEST)) == (version, old_rows)
    # The next read ignores them: they carry the old version.
    assert [t["name"] for t in get_page_rows(NEWEST)] == ["new", "old"]


def test_without_versions_the_same_interleaving_would_be_stale():
    """The control: the guide's plain key + delete shows the race is real."""
    Task.objects.create(name="old")
    assert cache.get("all_tasks") is None
    old_rows = load_rows(NEWEST)
    Task.objects.create(name="new")
    cache.delete("all_tasks")  # the guide's invalidation
    cache.set("all_tasks", old_rows)  # the slow reader's late store
    assert [t["name"] for t in cache.get("all_tasks")] == ["old"]  # stale
