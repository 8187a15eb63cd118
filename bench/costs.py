"""
In-process costs of a cached page, on the benchmark's real memcached:

- signing(): what the HMAC that authenticates every value
  (memcachier_cache/values.py) costs a page hit and a rebuild;
- hit_profile(): where each microsecond of a page hit goes, in parts that
  add up to the whole; against the constant view (the ceiling) under the
  same middleware.

Django's WSGI handler is called directly, as gunicorn calls it, with no HTTP
in between. Totals are CPU time (time.thread_time), best of several
repeats, the variants alternating: the cost itself, not the noise of a
shared machine.
"""

import statistics
import time
import timeit

REPEATS = 5
# A returning visitor, as under wrk (bench/wrk.lua): with a CSRF cookie.
HEADERS = {
    "HTTP_HOST": "127.0.0.1",
    "HTTP_X_FORWARDED_PROTO": "https",
    "HTTP_COOKIE": "csrftoken=" + "k" * 32,
}
PAGE_CACHE = "tasks.page_cache.PageCacheMiddleware"


def best_us(function, number, timer=time.thread_time):
    return min(timeit.repeat(function, number=number, repeat=REPEATS, timer=timer)) / number * 1e6


def stored(cache, key):
    """(memcached key as bytes, flags, bytes) as memcached holds key."""
    made = cache.make_key(key).encode()
    flags, data = cache._cache._get_server(made.decode()).get_multi([made])[made]
    return made, flags, data


def handler_without(middleware=()):
    """Django's WSGI handler, as gunicorn calls it, without the middleware
    named (dotted paths)."""
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.test.utils import override_settings

    # The handler reads MIDDLEWARE once, when it is made.
    with override_settings(MIDDLEWARE=[name for name in settings.MIDDLEWARE if name not in middleware]):
        return WSGIHandler()


def wsgi_get(path, without=(), headers=HEADERS):
    """A function that GETs path through Django's WSGI handler, as gunicorn
    would; without: middleware (dotted paths) left out."""
    from django.test.client import RequestFactory

    handler = handler_without(without)
    factory = RequestFactory()

    def get():
        environ = factory._base_environ(PATH_INFO=path, REQUEST_METHOD="GET", **headers)
        response = handler(environ, lambda status, headers: None)
        body = b"".join(response)
        response.close()
        return response, body

    return get


def signing(count):
    """The HMAC's share of a page hit, and of reading every row of a rebuild."""
    from django.core.cache import cache, caches

    from tasks import keys
    from tasks.pages import NEWEST, newest_tasks

    get = wsgi_get("/")
    get()  # renders and stores the page and every row
    assert get()[0]["X-Cache"] == "HIT"
    values = cache._values
    mac = values._macs[0]

    key, flags, data = stored(cache, keys.index_page(NEWEST))
    page_mac = best_us(lambda: values._mac(mac, key, flags, data[32:]), 2000)
    # The load of bytes not seen before: loads() keeps what it loaded, and
    # would answer from there.
    page_load = best_us(lambda: values._load(key, flags, data), 2000)
    hit = best_us(get, 200)

    fragments = caches["template_fragments"]
    rows = [stored(fragments, row) for row in map(keys.task_row, newest_tasks())]
    rows_mac = best_us(lambda: [values._mac(mac, k, f, d[32:]) for k, f, d in rows], 20)
    return {
        "tasks": count,
        "page_stored_bytes": len(data),
        "page_hmac_us": round(page_mac, 2),
        "page_load_us": round(page_load, 2),
        "hit_in_process_us": round(hit, 1),
        "rows_hmac_us": round(rows_mac, 1),
    }


class Mark:
    """A middleware that notes the time a request passes it, going in and
    coming out: between two marks is one middleware's own time."""

    times = []

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        Mark.times.append(time.thread_time())
        response = self.get_response(request)
        Mark.times.append(time.thread_time())
        return response


def timed(function, into):
    """function, its CPU time appended to into at each call."""

    def call(*args, **kwargs):
        started = time.thread_time()
        try:
            return function(*args, **kwargs)
        finally:
            into.append(time.thread_time() - started)

    return call


def pagination(count):
    """µs per query of a page of the list (tasks/pages.py), the newest and
    the oldest, by keyset (what the app does) and by OFFSET (what
    Django's Paginator would do): the measurement that chose keyset."""
    from tasks.models import Task
    from tasks.pages import NEWEST, PAGE_SIZE, Cursor, load_rows

    rows = Task.objects.values("id", "name", "updated_at").order_by("-id")
    deepest = max(count - PAGE_SIZE, 0)
    oldest = Cursor(before=PAGE_SIZE + 1)  # seed() numbers the tasks 1..count
    # Wall time: a query's time is mostly PostgreSQL's, not this thread's CPU.
    wall = time.perf_counter
    return {
        "tasks": count,
        "newest_keyset_us": round(best_us(lambda: load_rows(NEWEST), 20, wall), 1),
        "oldest_keyset_us": round(best_us(lambda: load_rows(oldest), 20, wall), 1),
        "oldest_offset_us": round(best_us(lambda: list(rows[deepest : deepest + PAGE_SIZE + 1]), 20, wall), 1),
    }


def hit_profile(count, page_bytes, hits=3000):
    """µs per page hit, and where each of them goes; and the constant
    view's µs for a body as big.

    The parts add up to the hit, in CPU time: Django's handler around the
    middleware (the request object, the request_started/finished signals,
    the response's iteration), each middleware above the page cache on its
    own (a Mark on each side of it), the page cache's read (the get_many of
    the version and the page: the round trip's system calls, the reply's
    parsing, the HMAC check) and the rest of its work. Each part is its
    median over the hits: a slow moment of a shared machine moves none.
    """
    from django.conf import settings
    from django.test.utils import override_settings

    from tasks import list_version

    hit = wsgi_get("/")
    hit()
    assert hit()[0]["X-Cache"] == "HIT"
    new_visitor = wsgi_get("/", headers={k: v for k, v in HEADERS.items() if k != "HTTP_COOKIE"})
    constant = wsgi_get(f"/constant/{page_bytes}")
    hit_us = new_visitor_us = constant_us = float("inf")
    for _ in range(3):  # alternating: a slow moment of the machine hits each
        hit_us = min(hit_us, best_us(hit, hits // 10))
        new_visitor_us = min(new_visitor_us, best_us(new_visitor, hits // 10))
        constant_us = min(constant_us, best_us(constant, hits // 10))

    above = settings.MIDDLEWARE[: settings.MIDDLEWARE.index(PAGE_CACHE) + 1]
    marked = [entry for name in above for entry in ("bench.costs.Mark", name)]
    with override_settings(MIDDLEWARE=marked):
        marked_hit = wsgi_get("/")
    samples, reads = [], []
    read_versioned = list_version.read_versioned_or_older
    list_version.read_versioned_or_older = timed(read_versioned, reads)
    try:
        for _ in range(hits):
            Mark.times.clear()
            started = time.thread_time()
            marked_hit()
            total = time.thread_time() - started
            down, up = Mark.times[: len(above)], Mark.times[len(above) :][::-1]
            own = [(down[i + 1] - down[i]) + (up[i] - up[i + 1]) for i in range(len(above) - 1)]
            page_cache = up[-1] - down[-1]
            samples.append([total - (up[0] - down[0]), *own, reads[-1], page_cache - reads[-1]])
    finally:
        list_version.read_versioned_or_older = read_versioned
    labels = [
        "Django's handler: the request, the signals, the response's iteration",
        *(f"middleware: {name}" for name in above[:-1]),
        "page cache: the read (get_many of the version and the page: system calls, parsing, HMAC check)",
        "page cache: the rest (the Host check, the visitor's token, the response)",
    ]
    return {
        "tasks": count,
        "hit_us": round(hit_us, 1),
        "new_visitor_hit_us": round(new_visitor_us, 1),
        "constant_us": round(constant_us, 1),
        "parts": [
            {"part": label, "us": round(statistics.median(column) * 1e6, 1)}
            for label, column in zip(labels, zip(*samples, strict=True), strict=True)
        ],
    }
