"""
What the cache holds and how it is doing, and clearing it: one
implementation for `manage.py cache_stats` and `clear_cache` and the admin's
Cache page (tasks/admin_cache.py).

Everything here works while memcached is down (it says so) and on the
embedded file cache.
"""

import logging
import os

from django.core.cache import cache, caches

from tasks import keys, list_version
from tasks.pages import NEWEST, newest_tasks
from tasks.typed_reads import typed, unexpected

logger = logging.getLogger(__name__)

# memcached stat -> label, in the order the MemCachier dashboard shows them.
MEMCACHED_FIELDS = [
    ("get_hits", "hits"),
    ("get_misses", "misses"),
    ("curr_items", "items"),
    ("bytes", "bytes"),
    ("limit_maxbytes", "limit"),
    ("evictions", "evictions"),
    ("curr_connections", "connections"),
    ("uptime", "uptime (s)"),
]


def is_memcached():
    return hasattr(cache, "server_stats")


def server_stats():
    """One dict per memcached server (reachable or not), or one for the file cache."""
    if not is_memcached():
        return [file_cache_stats()]
    servers = []
    for address, stats in cache.server_stats().items():
        # A server that answered without every counter (a proxy, a partial
        # answer) counts as unreachable: no half-filled row or chart bar.
        reachable = all(field in stats for field, _ in MEMCACHED_FIELDS)
        server = {"kind": "memcached", "server": address, "reachable": reachable}
        for field, _ in MEMCACHED_FIELDS:
            server[field] = int(stats[field]) if reachable else None
        if reachable:
            lookups = server["get_hits"] + server["get_misses"]
            server["hit_ratio"] = server["get_hits"] / lookups if lookups else None
        servers.append(server)
    return servers


def folder():
    """The embedded file cache's folder (None on memcached)."""
    return getattr(cache, "_dir", None)


def file_cache_stats():
    directory = folder()
    files = list(cache._list_cache_files()) if directory else []
    return {
        "kind": "file",
        "server": directory or type(cache).__name__,
        "reachable": True,
        "curr_items": len(files),
        "bytes": sum(_size(name) for name in files),
    }


def app_entries():
    """The task list's version, and which entries of its newest page are
    cached for it (with their size as stored), this release's: one page,
    whatever the list's length."""
    tasks = newest_tasks()
    version = cache.get(keys.LIST_VERSION)
    if not list_version.is_version(version):
        if version is not None:
            unexpected(version, "the list version")
        return {"version": None, "entries": [], "rows_cached": 0, "rows": len(tasks)}
    fragments = caches["template_fragments"]
    page, rows = keys.index_page(NEWEST), keys.task_list(NEWEST)
    versioned = cache.get_many([page, rows])
    current = {
        key
        for key, shape, what in ((page, bytes, "the page"), (rows, list, "the task list"))
        if list_version.value_for(version, versioned.get(key), shape, what) is not None
    }
    # A fragment is HTML text: anything else under its key is not cached.
    fragment = keys.list_fragment(version, NEWEST)
    if typed(fragments.get(fragment), str, f"the {keys.LIST_FRAGMENT} fragment") is not None:
        current.add(fragment)
    named = {
        "the page": page,
        "the list (query cache)": rows,
        "the list fragment": fragment,
    }
    # Each size read from the cache that stores the entry: the fragment lives
    # in the template_fragments alias (a DummyCache when fragments are off).
    sizes = {
        **stored_sizes(cache, [page, rows]),
        **stored_sizes(fragments, [fragment]),
    }
    entries = [{"name": name, "cached": key in current, "size": sizes.get(key)} for name, key in named.items()]
    rows = fragments.get_many([keys.task_row(task) for task in tasks]).values()
    rows_cached = sum(typed(row, str, "a row fragment") is not None for row in rows)
    return {"version": version, "entries": entries, "rows_cached": rows_cached, "rows": len(tasks)}


def stored_sizes(backend, names):
    """{name: bytes as stored} for the names the cache holds (none for a
    backend that can't tell: a DummyCache, a LocMemCache)."""
    if hasattr(backend, "stored_sizes"):
        return backend.stored_sizes(names)
    if not hasattr(backend, "_key_to_file"):
        return {}
    sizes = {}
    for name in names:
        # FileBasedCache._key_to_file() makes the key (prefix, version) itself:
        # given backend.make_key(name), it prefixed it twice and named a file
        # that never exists, whose size read as 0.
        path = backend._key_to_file(name)
        if backend.has_key(name):  # not expired (an expired file is deleted)
            try:
                sizes[name] = os.path.getsize(path)
            except OSError:
                pass  # deleted meanwhile (by another process, a cull)
    return sizes


def clear_app_keys():
    """Delete this app's keys: the list version, which every page's entries
    are stored under (without it none is read again), and the newest page's
    entries and rows; (how many were present, how many there are)."""
    version = cache.get(keys.LIST_VERSION)
    version = version if list_version.is_version(version) else None
    names = [keys.LIST_VERSION, *keys.page_keys(newest_tasks(), version, NEWEST)]
    present = cache.get_many(names)
    cache.delete_many(names)
    logger.info("Cleared the task list's cache: %d of %d keys were present", len(present), len(names))
    return len(present), len(names)


def flush_all():
    """memcached's flush_all; on the embedded file cache, every cache file of
    its folder deleted (Django's FileBasedCache.clear)."""
    cache.clear()
    logger.info("Flushed the whole cache")


def _size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0
