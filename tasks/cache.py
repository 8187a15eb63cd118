"""
Every cache key and version of the task list: built here and nowhere else.

The list has one version, a fresh unique token replaced after every committed
write. Whatever is derived from the list (the rows, the page, the list
fragment) is stored together with, or keyed on, the version it was built from,
read *before* the database. A reader that loses a race with a writer stores
its result under the old version, where nobody looks any more: the stale-set
race cannot leave old data in place.

A token, not a counter: a counter that is evicted and recreated at 0 would
bring entries stored under its old values back to life.

Invalidation survives a cache outage. A bump after a write tries memcached
even while this process skips it as failed: the other processes may be using
it again. A bump that can't reach it is owed, not dropped: a memcached that
hangs or is cut off keeps its data, and when it answers again, the entries of
the version it holds may miss writes committed meanwhile, by this process or
by another that couldn't reach it either. So a process that failed to bump,
or found the cache unusable, trusts nothing cached until it has stored a
fresh version (see _settled); meanwhile it serves from the database.
"""

import threading
import time
import uuid

from django.conf import settings
from django.core.cache import cache
from django.core.cache.utils import make_template_fragment_key

# How long derived entries live. Writes invalidate them at once; the TTL only
# bounds what a write that could not reach memcached might leave behind.
TTL_SECONDS = 10 * 60

# The "{...}" hash tag puts these keys on one memcached server, so the version
# and the entry it guards come back in one round trip (config/memcached/client.py).
_TAG = "{tasklist}"
LIST_VERSION = f"{_TAG}:version"
TASK_LIST = f"{_TAG}:rows"
INDEX_PAGE = f"{_TAG}:page:index"

# Template fragment names, used by templates/tasks/index.html.
LIST_FRAGMENT = "task-list"
ROW_FRAGMENT = "task-row"


def list_lock(version):
    return f"{_TAG}:rows-lock:{version}"


def list_fragment(version):
    return make_template_fragment_key(LIST_FRAGMENT, [version])


def task_row(task):
    # Keyed on everything a row shows, so any change to a task, through any
    # path, renders a new row: the old fragment is simply never asked for.
    return make_template_fragment_key(
        ROW_FRAGMENT, [task["id"], task["name"], task["updated_at"].isoformat()]
    )


def new_version():
    return f"{time.time_ns():x}.{uuid.uuid4().hex[:12]}"


# Set while this process owes the cache a version bump (see the module doc).
_bump_owed = threading.Event()


def _store_new_version(set_version):
    # Most of Django's backends return None from set(); config.memcached
    # returns False when memcached did not store the value.
    if set_version(LIST_VERSION, new_version(), timeout=None) is False:
        _bump_owed.set()
        return False
    return True


def bump_list_version():
    # After a write: try memcached even if this process is skipping it
    # (config.memcached's set_now); the file cache has no skip window.
    _store_new_version(getattr(cache, "set_now", cache.set))


def _settled():
    """True unless this process owes a version bump it still can't store."""
    if not _bump_owed.is_set():
        return True
    # Cleared before trying: a bump that fails meanwhile sets it again.
    _bump_owed.clear()
    return _store_new_version(cache.set)


def current_list_version():
    """The list version, or None if the cache can't be trusted now."""
    if not _settled():
        return None
    return cache.get(LIST_VERSION) or _create_list_version()


def list_fragment_version():
    """The version the list fragment is keyed on, or None when the fragment
    layer is off: then nothing is keyed on it, and reading it would cost a
    round trip on every request for nothing."""
    if "fragments" not in settings.CACHE_LAYERS:
        return None
    return current_list_version()


def read_versioned(key):
    """(current list version, value stored under key for that version).

    One round trip. The value is None if absent or built from another
    version; the version is None only if the cache can't be used or trusted
    now.
    """
    if not _settled():
        return None, None
    found = cache.get_many([LIST_VERSION, key])
    version = found.get(LIST_VERSION)
    if version is None:
        version = _create_list_version()
        return version, None
    entry = found.get(key)
    if entry is not None and entry[0] == version:
        return version, entry[1]
    return version, None


def store_versioned(key, version, value):
    cache.set(key, (version, value), TTL_SECONDS)


def _create_list_version():
    # The version is gone (first start, eviction, flush): everything stored
    # under an older one must count as stale, so start a fresh token. add()
    # lets concurrent creators agree on one; if the cache is down both calls
    # fail and we report None: serve from the database, and bump once the
    # cache is back, since writes may be committed meanwhile.
    version = new_version()
    if cache.add(LIST_VERSION, version, timeout=None):
        return version
    version = cache.get(LIST_VERSION)
    if version is None:
        _bump_owed.set()
    return version


def all_keys(tasks, version):
    """Every key this app may have stored, for `manage.py clear_cache`."""
    keys = [LIST_VERSION, TASK_LIST, INDEX_PAGE]
    if version is not None:
        keys += [list_lock(version), list_fragment(version)]
    return keys + [task_row(task) for task in tasks]
