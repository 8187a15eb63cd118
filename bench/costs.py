"""
In-process costs of a cached page, on the benchmark's real memcached:

- signing(): what the HMAC that authenticates every value
  (memcachier_cache/values.py) costs a page hit and a rebuild;
- hit_profile(): where a page hit's time goes, from cProfile, against the
  constant view (the ceiling) under the same middleware, and against the
  same hit without the Server-Timing middleware.

Django's WSGI handler is called directly, as gunicorn calls it, with no HTTP
in between. Timed with timeit, best of several repeats: the cost itself,
not the noise of a shared machine.
"""

import cProfile
import io
import pstats
import timeit

REPEATS = 7
# A returning visitor, as under wrk (bench/wrk.lua): with a CSRF cookie.
HEADERS = {
    "HTTP_HOST": "127.0.0.1",
    "HTTP_X_FORWARDED_PROTO": "https",
    "HTTP_COOKIE": "csrftoken=" + "k" * 32,
}

SERVER_TIMING = "tasks.server_timing.ServerTimingMiddleware"

# What a hit's time is spent on: (label, the function whose cumulative time it is).
PARTS = [
    ("the memcached round trip (get_many of the version and the page)", "exchange"),
    ("loading the page: HMAC and unzip once per new page, then kept (memcachier_cache/values.py)", "loads"),
    ("a fresh masked CSRF token for the visitor (tasks/csrf_token.py)", "masked_token"),
    ("putting the token in the page (with drawing it)", "_with_token"),
    ("the CSRF cookie (CsrfViewMiddleware's response)", "process_response", "csrf.py"),
    ("Content-Security-Policy header (django-csp)", "process_response", "csp/middleware.py"),
    ("Server-Timing header", "header", "server_timing.py"),
]


def best_us(function, number):
    return min(timeit.repeat(function, number=number, repeat=REPEATS)) / number * 1e6


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


def wsgi_get(path, without=()):
    """A function that GETs path through Django's WSGI handler, as gunicorn
    would; without: middleware (dotted paths) left out."""
    from django.test.client import RequestFactory

    handler = handler_without(without)
    factory = RequestFactory()

    def get():
        environ = factory._base_environ(PATH_INFO=path, REQUEST_METHOD="GET", **HEADERS)
        response = handler(environ, lambda status, headers: None)
        body = b"".join(response)
        response.close()
        return response, body

    return get


def signing(count):
    """The HMAC's share of a page hit, and of reading every row of a rebuild."""
    from django.core.cache import cache, caches

    from tasks import keys
    from tasks.queries import load_tasks

    get = wsgi_get("/")
    get()  # renders and stores the page and every row
    assert get()[0]["X-Cache"] == "HIT"
    values = cache._values
    mac_key = values._mac_keys[0]

    key, flags, data = stored(cache, keys.INDEX_PAGE)
    page_mac = best_us(lambda: values._mac(mac_key, key, flags, data[32:]), 2000)
    # The load of bytes not seen before: loads() keeps what it loaded, and
    # would answer from there.
    page_load = best_us(lambda: values._load(key, flags, data), 2000)
    hit = best_us(get, 200)

    fragments = caches["template_fragments"]
    rows = [stored(fragments, row) for row in map(keys.task_row, load_tasks())]
    rows_mac = best_us(lambda: [values._mac(mac_key, k, f, d[32:]) for k, f, d in rows], 20)
    return {
        "tasks": count,
        "page_stored_bytes": len(data),
        "page_hmac_us": round(page_mac, 2),
        "page_load_us": round(page_load, 2),
        "hit_in_process_us": round(hit, 1),
        "rows_hmac_us": round(rows_mac, 1),
    }


def hit_profile(count, page_bytes, hits=2000):
    """µs per page hit in all and per part (cumulative, so parts nest),
    and the constant view's µs for a body as big."""
    hit = wsgi_get("/")
    hit()
    assert hit()[0]["X-Cache"] == "HIT"
    constant = wsgi_get(f"/constant/{page_bytes}")
    untimed = wsgi_get("/", without={SERVER_TIMING})
    assert "Server-Timing" not in untimed()[0]
    # Alternating, best of each: a 1% difference is below the noise of
    # one measurement after the other.
    total_us = untimed_us = float("inf")
    for _ in range(3):
        total_us = min(total_us, best_us(hit, hits // 10))
        untimed_us = min(untimed_us, best_us(untimed, hits // 10))
    constant_us = best_us(constant, hits // 10)

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(hits):
        hit()
    profiler.disable()
    stats = pstats.Stats(profiler, stream=io.StringIO()).stats

    def cumulative(function, where=""):
        return sum(
            seconds
            for (file, _, name), (_, _, _, seconds, _) in stats.items()
            if name == function and file.endswith(where)
        )

    profiled = cumulative("__call__", "handlers/wsgi.py")
    missing = [label for label, *function in PARTS if not cumulative(*function)]
    if missing:
        # A part that took no time at all was renamed or moved: say so
        # rather than report 0%.
        raise RuntimeError(f"the profile found none of: {missing}; update bench/costs.py PARTS")
    parts = [
        {"part": label, "share": round(cumulative(*function) / profiled, 3) if profiled else None}
        for label, *function in PARTS
    ]
    return {
        "tasks": count,
        "hit_us": round(total_us, 1),
        "hit_without_server_timing_us": round(untimed_us, 1),
        "constant_us": round(constant_us, 1),
        "parts": parts,
    }
