"""
What a request cost, in a standard Server-Timing header (W3C Server Timing)
on every response, which a browser's developer tools show:

    Server-Timing: page;desc="hit", cache;desc="memcached: 1 round trip";dur=0.09,
                   db;desc="0 queries";dur=0, render;dur=0, total;dur=0.61

Everything is measured around the real calls, nothing estimated: memcached
round trips where they happen (config/memcached/server.py's on_round_trip
hook), the embedded file cache around each of its operations
(TimedFileBasedCache), SQL through Django's connection.execute_wrapper,
templates through the template backend (TimedDjangoTemplates), and the
page cache's outcome as tasks/page_cache.py records it.

The counts live in a context variable: per request, whatever the thread.
"""

import time
from contextlib import ExitStack
from contextvars import ContextVar

from django.core.cache.backends.filebased import FileBasedCache
from django.db import connections
from django.template.backends.django import DjangoTemplates, Template

from config.memcached import server as memcached_server

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
        unit = "round trip" if self.cache_kind == "memcached" else "operation"
        entries = []
        if self.page:
            entries.append(f'page;desc="{self.page}"')
        entries += [
            f'cache;desc="{self.cache_kind}: {plural(self.cache, unit)}";dur={ms(self.cache_seconds)}',
            f'db;desc="{plural(self.queries, "query", "queries")}";dur={ms(self.query_seconds)}',
            f"render;dur={ms(self.render_seconds)}",
            f"total;dur={ms(total_seconds)}",
        ]
        return ", ".join(entries)


def ms(seconds):
    return f"{seconds * 1000:.2f}"


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
        memcached_server.on_round_trip = count_round_trip

    def __call__(self, request):
        started = time.perf_counter()
        timing = Timing()
        token = _current.set(timing)
        try:
            with ExitStack() as stack:
                for connection in connections.all(initialized_only=False):
                    stack.enter_context(connection.execute_wrapper(timing_sql(timing)))
                response = self.get_response(request)
        finally:
            _current.reset(token)
        response["Server-Timing"] = timing.header(time.perf_counter() - started)
        return response


def timing_sql(timing):
    def execute(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            timing.queries += 1
            timing.query_seconds += time.perf_counter() - started

    return execute


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
