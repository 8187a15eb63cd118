"""
Every cache key of this app, and how long its entries live: built here and
nowhere else (the task list's, and the throttles' counters).

Whatever is derived from the task list is keyed on, or stored with, the list
version (tasks/list_version.py), and keyed on the release (tasks/release.py):
docs/caching.md says why.
"""

import hashlib

from django.core.cache.utils import make_template_fragment_key

from tasks.release import fingerprint

# How long derived entries live. Writes invalidate them at once; the TTL only
# bounds what a write that could not reach memcached might leave behind.
TTL_SECONDS = 10 * 60

# The "{...}" hash tag puts these keys on one memcached server, so the version
# and the entry it guards come back in one round trip (memcachier_cache/client.py).
TAG = "{tasklist}"
# Computed once per process, at import; gunicorn preloads the app.
RELEASE = fingerprint()
LIST_VERSION = f"{TAG}:version"


# Per page of the list (tasks/pages.py): the cursor's name is in every key
# derived from the list, so each entry holds one page, whatever the list's
# length.


def task_list(cursor):
    """The page's rows (the query cache)."""
    return f"{TAG}:rows:{RELEASE}:{cursor.name}"


def index_page(cursor):
    """The page, rendered (the page cache)."""
    return f"{TAG}:page:{RELEASE}:{cursor.name}"


# Template fragment names, used by templates/tasks/index.html.
LIST_FRAGMENT = "task-list"
ROW_FRAGMENT = "task-row"


def list_lock(version, cursor):
    return f"{TAG}:rows-lock:{RELEASE}:{version}:{cursor.name}"


def list_fragment_id(version, cursor):
    """What the list's {% typed_cache %} fragment varies on (templates/tasks/index.html)."""
    return f"{RELEASE}:{version}:{cursor.name}"


def list_fragment(version, cursor):
    return make_template_fragment_key(LIST_FRAGMENT, [list_fragment_id(version, cursor)])


def task_row(task):
    # Keyed on everything a row shows, so any change to a task, through any
    # path, renders a new row: the old fragment is simply never asked for.
    return make_template_fragment_key(ROW_FRAGMENT, [RELEASE, task["id"], task["name"], task["updated_at"].isoformat()])


def throttle(name, subject):
    """A throttle's counter (tasks/throttle.py): `name` says what is counted
    (logins per address, adds per /48...), `subject` whose. Hashed: an
    address or a user name can be long, or odd."""
    return f"throttle:{name}:{hashlib.sha256(subject.encode()).hexdigest()[:32]}"


def page_keys(tasks, version, cursor):
    """The keys of one page of the list, its rows' fragments included."""
    keys = [task_list(cursor), index_page(cursor)]
    if version is not None:
        keys += [list_lock(version, cursor), list_fragment(version, cursor)]
    return keys + [task_row(task) for task in tasks]
