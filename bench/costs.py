"""
In-process costs of a cached page, on the benchmark's real memcached: what
the HMAC that authenticates every value (config/memcached/values.py) costs
a page hit and a rebuild. Timed with timeit, best of several repeats: the
cost itself, not the noise of a shared machine.
"""

import timeit

REPEATS = 7


def best_us(function, number):
    return min(timeit.repeat(function, number=number, repeat=REPEATS)) / number * 1e6


def stored(cache, key):
    """(memcached key as bytes, flags, bytes) as memcached holds key."""
    made = cache.make_key(key).encode()
    flags, data = cache._cache._get_server(made.decode()).get_multi([made])[made]
    return made, flags, data


def signing(count):
    """The HMAC's share of a page hit, and of reading every row of a rebuild."""
    from django.core.cache import cache, caches
    from django.test import Client

    from tasks import cache as keys
    from tasks.queries import load_tasks

    client = Client(HTTP_HOST="127.0.0.1", HTTP_X_FORWARDED_PROTO="https")
    client.get("/")  # renders and stores the page and every row
    assert client.get("/")["X-Cache"] == "HIT"
    values = cache._values
    mac_key = values._mac_keys[0]

    key, flags, data = stored(cache, keys.INDEX_PAGE)
    page_mac = best_us(lambda: values._mac(mac_key, key, flags, data[32:]), 2000)
    page_load = best_us(lambda: values.loads(key, flags, data), 2000)
    hit = best_us(lambda: client.get("/"), 200)

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
