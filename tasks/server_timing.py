"""
What a request cost, in a standard Server-Timing header (W3C Server Timing)
on every response, which a browser's developer tools show:

    Server-Timing: page;desc="hit", cache;desc="memcached: 1 round trip";dur=0.09,
                   db;desc="0 queries";dur=0, render;dur=0, total;dur=0.61

Everything is measured around the real calls, nothing estimated: memcached
round trips where they happen (count_round_trip, which settings give the
memcached backend as its on_round_trip option), the embedded file cache around each of its operations
(TimedFileBasedCache), SQL through an execute wrapper on each database connection,
templates through the template backend (TimedDjangoTemplates), and the
page cache's outcome as tasks/page_cache.py records it.

The counts live in a context variable: per request, whatever the thread.
"""

import time
from contextvars import ContextVar

from django.core.cache.backends.filebased import FileBasedCache
from django.db import connections
from django.db.backends.signals import connection_created
from django.template.backends.django import DjangoTemplates, Template

_current = ContextVar("server_timing", default=None)


class Timing:
    __slots__ = ("cache", "cache_kind", "cache_seconds", "queries", "query_seconds", "render_seconds", "page")

    def __init__(self):
        self.cache = 0
        self.cache_kind = "memcached"
        self.cache_seconds = 0.0
        self.queries = 0
        self.query_seconds = 0.0
        self.render_seconds = 0.0
        self.page = None  # "hit", "miss" or "bypass: why"; None: not the cached page

    def header(self, total_seconds):
        # One format, no helper calls: this runs on every response, page
        # hits included (make bench measures what it costs them).
        unit = "round trip" if self.cache_kind == "memcached" else "operation"
        page = f'page;desc="{self.page}", ' if self.page else ""
        return (
            f'{page}cache;desc="{self.cache_kind}: {plural(self.cache, unit)}";dur={self.cache_seconds * 1000:.2f}, '
            f'db;desc="{plural(self.queries, "query", "queries")}";dur={self.query_seconds * 1000:.2f}, '
            f"render;dur={self.render_seconds * 1000:.2f}, total;dur={total_seconds * 1000:.2f}"
        )


def plural(count, word, words=None):
    return f"{count} {word if count == 1 else words or word + 's'}"


def current():
    """This request's Timing, or None outside a request (a command, say)."""
    return _current.get()


def count_round_trip(seconds, kind="memcached"):
    timing = _current.get()
    if timing is not None:
        timing.cache += 1
        timing.cache_kind = kind
        timing.cache_seconds += seconds


def record_page(outcome):
    timing = _current.get()
    if timing is not None:
        timing.page = outcome


class ServerTimingMiddleware:
    """First in MIDDLEWARE, so that `total` covers every other middleware."""

    def __init__(self, get_response):
        self.get_response = get_response
        connection_created.connect(time_sql_on, dispatch_uid="server_timing")
        for connection in connections.all(initialized_only=True):  # opened before this
            time_sql_on(None, connection)

    def __call__(self, request):
        started = time.perf_counter()
        timing = Timing()
        token = _current.set(timing)
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        response["Server-Timing"] = timing.header(time.perf_counter() - started)
        return response


def time_sql_on(sender, connection, **kwargs):
    """Time every query of this database connection, for good: the wrapper
    finds the request it belongs to through the context variable, so a
    request pays nothing to install it (a wrapper per request and
    connection, as connection.execute_wrapper() would have it, was most of
    this middleware's cost)."""
    if timed_execute not in connection.execute_wrappers:
        # First in the list, not last: connection.execute_wrapper() blocks
        # pop() the last one when they end, and a connection opened inside
        # one must not lose this wrapper and keep theirs.
        connection.execute_wrappers.insert(0, timed_execute)


def timed_execute(execute, sql, params, many, context):
    timing = _current.get()
    if timing is None:
        return execute(sql, params, many, context)
    started = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    finally:
        timing.queries += 1
        timing.query_seconds += time.perf_counter() - started


class TimedTemplate(Template):
    def render(self, context=None, request=None):
        started = time.perf_counter()
        try:
            return super().render(context, request)
        finally:
            timing = _current.get()
            if timing is not None:
                timing.render_seconds += time.perf_counter() - started


class TimedDjangoTemplates(DjangoTemplates):
    """Django's template engine, each template render timed for Server-Timing.

    Only the outermost render counts: {% include %} and {% extends %} render
    inside it, not through this backend.
    """

    def from_string(self, template_code):
        return TimedTemplate(self.engine.from_string(template_code), self)

    def get_template(self, template_name):
        template = super().get_template(template_name)
        return TimedTemplate(template.template, self)


class TimedFileBasedCache(FileBasedCache):
    """Django's file cache (the embedded default), each operation timed.

    It has no round trips: Server-Timing counts its operations (each a file
    read or write; get_many and set_many make one per key).
    """


def _timed_operation(name):
    operation = getattr(FileBasedCache, name)

    def timed(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return operation(self, *args, **kwargs)
        finally:
            count_round_trip(time.perf_counter() - started, kind="file cache")

    timed.__name__ = name
    return timed


for _name in ("add", "get", "set", "touch", "delete", "has_key", "clear"):
    setattr(TimedFileBasedCache, _name, _timed_operation(_name))
