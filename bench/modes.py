"""
What each caching layer buys: every scenario and task count for one mode
(which layers are on), on one gunicorn; and the constant-view ceiling.
"""

from functools import partial

from bench.load import get, load_run, single_gets, start_gunicorn, visitor, wrk
from harness.data import edit_one_task, seed, task_count

# mode -> (label, app environment). "none" needs DummyCache: see bench/settings.py.
MODES = {
    "none": ("no cache (DummyCache)", {"BENCH_DUMMY_CACHE": "1", "CACHE_LAYERS": "none"}),
    "query": ("query cache", {"CACHE_LAYERS": "query"}),
    "fragments": ("query + fragments", {"CACHE_LAYERS": "query,fragments"}),
    "page": ("full page", {"CACHE_LAYERS": "query,fragments,page"}),
}
CEILINGS = {"constant": "ceiling: constant Django view"}


def app_env(services, mode, delayed=False):
    """The app's environment for a mode, with memcached on loopback or
    behind the delay proxy: every gunicorn the benchmark starts uses it."""
    postgres, memcached, proxy, _ = services
    return {
        "DATABASE_URL": postgres.url,
        "MEMCACHIER_SERVERS": f"127.0.0.1:{proxy.port}" if delayed else memcached.address,
        "BENCH_DUMMY_CACHE": "0",
        **MODES[mode][1],
    }


def bench_mode(mode, delayed, services, counters, args, results, page_sizes):
    """Every scenario and task count for one mode, on one gunicorn."""
    label = f"{mode}-{'delayed' if delayed else 'loopback'}"
    rtt = services[3]["rtt_added_ms"] if delayed else 0.0
    server = start_gunicorn(label, app_env(services, mode, delayed))
    try:
        for count in args.tasks:
            seed(count)
            who = visitor(server.url)
            # Unmeasured: fills the caches and every worker's connections.
            wrk(server.url, "/", *who, args, args.warmup)
            _, status, x_cache, body = get(server.url, "/", who[0])
            page_sizes.setdefault(count, len(body))
            common = {"mode": mode, "tasks": count, "rtt_ms": rtt, "body_bytes": len(body)}
            print(f"{label:>18} {count:>6} tasks: ", end="", flush=True)

            run = load_run(counters, server.url, "/", who, args, delayed)
            results.append({"scenario": "warm", **common, "x_cache": x_cache, **run})
            print(f"warm {run['rps']:7.0f} req/s", end="", flush=True)

            if mode == "page" and not delayed:
                # The constant view lives in the same app: same gunicorn, same
                # middleware, a body as big as this page.
                size = page_sizes[count]
                run = load_run(counters, server.url, f"/constant/{size}", who, args, delayed)
                results.append({"scenario": "warm", **common, "mode": "constant", "body_bytes": size, **run})
                print(f", constant view {run['rps']:7.0f} req/s", end="", flush=True)

            # Edit one task, then time the first GET alone; repeat.
            run = single_gets(counters, server.url, who, args, delayed, partial(edit_one_task, count))
            results.append({"scenario": "after_change", **common, **run})
            print(f", after change {run['median_ms']:7.1f} ms", end="", flush=True)

            # The warm path again, one request at a time: exact counts.
            run = single_gets(counters, server.url, who, args, delayed)
            results.append({"scenario": "single", **common, **run})

            writes = {"first_new_id": task_count() + 1}
            run = load_run(counters, server.url, "/", who, args, delayed, writes)
            results.append({"scenario": "mixed", **common, "tasks_after": task_count(), **run})
            print(f", mixed {run['rps']:7.0f} req/s", flush=True)
    finally:
        server.stop()
