"""
The task list's version: a fresh unique token, replaced after every
committed write, read *before* the database. What it guards and why it is a
token are in docs/caching.md ("One version for the list").

Invalidation survives a cache outage. A bump after a write tries memcached
even while this process skips it as failed: the other processes may be using
it again. A bump that can't reach it is owed, not dropped: a memcached that
hangs or is cut off keeps its data, and when it answers again, the entries of
the version it holds may miss writes committed meanwhile, by this process or
by another that couldn't reach it either. So a process that failed to bump,
or found the cache unusable, trusts nothing cached until it has stored a
fresh version (see _settled); meanwhile it serves from the database.

Nothing read back is trusted for its shape: memcachier_cache authenticates
every value, and here a version must look like one and an entry must be
(version, value of the expected type); anything else is a miss, never a 500.
The page is stored as bytes, "<version>\n<page>": a hit unpickles nothing.
"""

import re
import threading
import time
import uuid

from django.conf import settings
from django.core.cache import cache

from memcachier_cache import unacknowledged_writes
from tasks.keys import LIST_VERSION, TTL_SECONDS
from tasks.typed_reads import unexpected

VERSION_FORMAT = re.compile(r"[0-9a-f]{1,20}\.[0-9a-f]{12}")


def new_version():
    return f"{time.time_ns():x}.{uuid.uuid4().hex[:12]}"


def is_version(value):
    return isinstance(value, str) and VERSION_FORMAT.fullmatch(value) is not None


class OwedBumps:
    """The version bumps this process failed to store, and whether a later
    one has paid them (see the module doc).

    With threaded workers, a thread may fail a bump while another is storing
    one: a bump pays only the failures that happened before it started, so
    no thread can clear a debt that a newer failure renewed, and no thread
    trusts the cache while a debt is unpaid.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self.failed = 0  # failures so far
        self._paid = 0  # failures before the start of the latest stored bump

    def fail(self):
        with self._lock:
            self.failed += 1

    def pay(self, failed_before):
        with self._lock:
            self._paid = max(self._paid, failed_before)

    def settled(self):
        with self._lock:
            return self._paid >= self.failed

    def forgive(self):
        """Nothing is owed (for tests, after flushing the cache)."""
        self.pay(self.failed)


_owed = OwedBumps()


def _store_new_version(set_version):
    """The new version, or None (and the bump is owed) if it wasn't stored."""
    failed_before = _owed.failed
    version = new_version()
    # Most of Django's backends return None from set(); memcachier_cache
    # returns False when memcached did not store the value. A bump must know:
    # never a write that does not wait for memcached's answer.
    try:
        with unacknowledged_writes(False):
            stored = set_version(LIST_VERSION, version, timeout=None)
    except Exception:
        # A backend that raises (the file cache on a full disk) stored
        # nothing either: the bump is owed before the error goes on.
        _owed.fail()
        raise
    if stored is False:
        _owed.fail()
        return None
    _owed.pay(failed_before)
    return version


def bump_list_version():
    # After a write: try memcached even if this process is skipping it
    # (memcachier_cache's set_now); the file cache has no skip window.
    _store_new_version(getattr(cache, "set_now", cache.set))


def _settled():
    """True unless this process owes a version bump it still can't store."""
    if _owed.settled():
        return True
    return _store_new_version(cache.set) is not None and _owed.settled()


def current_list_version():
    """The list version, or None if the cache can't be trusted now."""
    if not _settled():
        return None
    version = cache.get(LIST_VERSION)
    return version if is_version(version) else _create_list_version(found=version)


def list_fragment_version():
    """The version the list fragment is keyed on, or None when the fragment
    layer is off: then nothing is keyed on it, and reading it would cost a
    round trip on every request for nothing."""
    if "fragments" not in settings.CACHE_LAYERS:
        return None
    return current_list_version()


def read_versioned(key, shape, what=None):
    """(current list version, value of type shape stored under key for that
    version); what names the entry in the log (by default, its key).

    One round trip. The value is None if absent, built from another version
    or of another type; the version is None only if the cache can't be used
    or trusted now.
    """
    version, value, _ = read_versioned_or_older(key, shape, what)
    return version, value


def read_versioned_or_older(key, shape, what=None):
    """read_versioned's (version, value), and the value stored under key
    for an older version (or None): what the page cache may serve, flagged,
    while the database that would rebuild it can't be reached."""
    if not _settled():
        return None, None, None
    found = cache.get_many([LIST_VERSION, key])
    version = found.get(LIST_VERSION)
    if not is_version(version):
        return _create_list_version(found=version), None, None
    stored_for, value = _entry(found.get(key), shape, what or key)
    if stored_for == version:
        return version, value, None
    return version, None, value


def value_for(version, entry, shape, what):
    """What entry holds for this version if it is of type shape (bytes: as
    "<version>\n<value>"; anything else: a (version, value) tuple); else
    None, and logged as `what` if it is no entry of that shape at all."""
    stored_for, value = _entry(entry, shape, what)
    return value if stored_for == version else None


def _entry(entry, shape, what):
    """(the version entry was stored for, its value of type shape), or
    (None, None), logged as `what` if it is no entry of that shape at all."""
    if shape is bytes:
        if isinstance(entry, bytes):
            stored_for, newline, value = entry.partition(b"\n")
            if newline:
                return stored_for.decode("ascii", "replace"), value
    elif isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[1], shape):
        return entry
    # An entry of another version is stale, and expected; this is not.
    if entry is not None:
        unexpected(entry, what)
    return None, None


def store_versioned(key, version, value):
    entry = version.encode() + b"\n" + value if isinstance(value, bytes) else (version, value)
    cache.set(key, entry, TTL_SECONDS)


def _create_list_version(found=None):
    # The version is gone (first start, eviction, flush): everything stored
    # under an older one must count as stale, so start a fresh token. add()
    # lets concurrent creators agree on one; if the cache is down both calls
    # fail and we report None: serve from the database, and bump once the
    # cache is back, since writes may be committed meanwhile. A value that
    # is no version at all (another release's format, say) is replaced.
    if found is not None:
        unexpected(found, "the list version")
        return _store_new_version(cache.set)
    version = new_version()
    if cache.add(LIST_VERSION, version, timeout=None):
        return version
    version = cache.get(LIST_VERSION)
    if not is_version(version):
        _owed.fail()
        return None
    return version
