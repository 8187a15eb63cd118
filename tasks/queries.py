"""The task list query, memoized in the cache (the guide's get_all_tasks)."""

import time

from django.conf import settings
from django.core.cache import cache

from tasks import keys, list_version
from tasks.models import Task
from tasks.typed_reads import unexpected

# How long a request that lost the race to rebuild the list waits for the
# winner before querying the database itself: a bounded number of queries
# even if the winner died, and never more than ~0.3 s of waiting.
LOCK_SECONDS = 5
WAITS = (0.005, 0.01, 0.02, 0.04, 0.08, 0.15)


def load_tasks():
    """The list, oldest first, as small dicts: cheap to pickle and to cache."""
    return list(Task.objects.values("id", "name", "updated_at"))


def get_all_tasks():
    if "query" not in settings.CACHE_LAYERS:
        return load_tasks()
    version, tasks = list_version.read_versioned(keys.TASK_LIST)
    if tasks is not None:
        return tasks
    if version is None:
        return load_tasks()
    return _rebuild(version)


def _rebuild(version):
    # Stampede protection: one request per version queries the database, the
    # others wait for its result. Serving the previous list instead would
    # show a stale list right after a write, so they don't.
    if cache.add(keys.list_lock(version), True, LOCK_SECONDS):
        tasks = load_tasks()
        list_version.store_versioned(keys.TASK_LIST, version, tasks)
        return tasks
    for delay in WAITS:
        time.sleep(delay)
        current, tasks = list_version.read_versioned(keys.TASK_LIST)
        if tasks is not None:
            return tasks
        if current != version:
            break  # a newer write: don't wait for it
        lock = cache.get(keys.list_lock(version))
        if lock is not True:
            # The loader gave up. Or the lock is a value no loader stores:
            # delete it, or every rebuild of this version would wait for it.
            if lock is not None:
                unexpected(lock, "the list's rebuild lock")
                cache.delete(keys.list_lock(version))
            break
    return load_tasks()
