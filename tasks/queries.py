"""A page of the task list, memoized in the cache (the guide's get_all_tasks)."""

import time

from django.conf import settings
from django.core.cache import cache

from tasks import keys, list_version
from tasks.database_outage import database_known_down
from tasks.pages import load_rows
from tasks.typed_reads import unexpected

# How long a request that lost the race to rebuild a page waits for the
# winner before querying the database itself: a bounded number of queries
# even if the winner died, and never more than ~0.3 s of waiting.
LOCK_SECONDS = 5
WAITS = (0.005, 0.01, 0.02, 0.04, 0.08, 0.15)


def get_page_rows(cursor):
    """load_rows(cursor), from the cache when it holds them for the current version."""
    if "query" not in settings.CACHE_LAYERS:
        return load_rows(cursor)
    version, rows = list_version.read_versioned(keys.task_list(cursor), list, "the task list")
    if rows is not None:
        return rows
    if version is None:
        return load_rows(cursor)
    return _rebuild(version, cursor)


def _rebuild(version, cursor):
    # Stampede protection: one request per version and page queries the
    # database, the others wait for its result. Serving the previous rows
    # instead would show a stale list right after a write, so they don't.
    # A page's entry is small (PAGE_SIZE rows), far under memcached's item
    # limit: the winner's store can't be refused for its size, so waiters
    # never wait for a value that will never come.
    lock = keys.list_lock(version, cursor)
    if database_known_down():
        # The database is away: no lock for others to wait on. (This fails
        # at once, unless this thread's connection still works.)
        return load_rows(cursor)
    if cache.add(lock, True, LOCK_SECONDS):
        rows = load_rows(cursor)
        list_version.store_versioned(keys.task_list(cursor), version, rows)
        return rows
    for delay in WAITS:
        time.sleep(delay)
        current, rows = list_version.read_versioned(keys.task_list(cursor), list, "the task list")
        if rows is not None:
            return rows
        if current != version or database_known_down():
            break  # a newer write, or a loader that can't load: don't wait for it
        held = cache.get(lock)
        if held is not True:
            # The loader gave up. Or the lock is a value no loader stores:
            # delete it, or every rebuild of this version would wait for it.
            if held is not None:
                unexpected(held, "the list's rebuild lock")
                cache.delete(lock)
            break
    return load_rows(cursor)
