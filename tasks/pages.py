"""
The task list a page at a time, newest first, by keyset on the primary key:
a page is the PAGE_SIZE tasks just older (?before=<id>) or newer
(?after=<id>) than a task, or the newest ones (no cursor). Any page costs one
indexed query of PAGE_SIZE + 1 rows, whatever the list's length; why keyset
and not OFFSET, measured: docs/caching.md ("Pages").
"""

from dataclasses import dataclass

from tasks.models import Task

PAGE_SIZE = 50
# Ids are PostgreSQL bigints: a larger cursor is no page at all.
MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class Cursor:
    """Where a page starts: before an id, after an id, or at the newest task."""

    before: int | None = None
    after: int | None = None

    @property
    def name(self):
        """The cursor in a cache key: "newest", "b<id>" or "a<id>"."""
        if self.before is not None:
            return f"b{self.before}"
        if self.after is not None:
            return f"a{self.after}"
        return "newest"

    @property
    def query(self):
        """The cursor in a URL's query string ("" for the newest page)."""
        if self.before is not None:
            return f"?before={self.before}"
        if self.after is not None:
            return f"?after={self.after}"
        return ""


NEWEST = Cursor()


def cursor_of(query):
    """The Cursor a request's GET (or a form's POST) names, or None if it
    names no page: a cursor that is not a whole number of a task id's size,
    or both at once. Other parameters are ignored (one cache entry per page)."""
    before, after = query.get("before"), query.get("after")
    if before is None and after is None:
        return NEWEST
    if before is not None and after is not None:
        return None
    value = before if before is not None else after
    if not (value.isascii() and value.isdigit() and len(value) <= 19 and 0 < int(value) <= MAX_ID):
        return None
    return Cursor(before=int(value)) if before is not None else Cursor(after=int(value))


def load_rows(cursor):
    """The page's rows as small dicts (cheap to pickle and to cache), and one
    more if there is a next page that way: PAGE_SIZE + 1 at most."""
    rows = Task.objects.values("id", "name", "updated_at")
    if cursor.after is not None:
        # Oldest first, to take the PAGE_SIZE + 1 just newer; shown reversed.
        return list(rows.filter(id__gt=cursor.after).order_by("id")[: PAGE_SIZE + 1])
    if cursor.before is not None:
        rows = rows.filter(id__lt=cursor.before)
    return list(rows.order_by("-id")[: PAGE_SIZE + 1])


@dataclass(frozen=True)
class Page:
    tasks: list
    newer: Cursor | None  # the page before this one, None on the newest
    older: Cursor | None  # the page after this one, None on the oldest


def page_of(cursor, rows):
    """The Page that load_rows(cursor) gave these rows for."""
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    if cursor.after is not None:
        rows = rows[::-1]
        newer = Cursor(after=rows[0]["id"]) if more else None
        return Page(rows, newer, Cursor(before=rows[-1]["id"]) if rows else NEWEST)
    if cursor.before is None:
        newer = None
    else:
        newer = Cursor(after=rows[0]["id"]) if rows else NEWEST
    return Page(rows, newer, Cursor(before=rows[-1]["id"]) if more else None)


def newest_tasks():
    """The tasks of the newest page, uncached (the Cache page, clear_cache)."""
    return page_of(NEWEST, load_rows(NEWEST)).tasks
