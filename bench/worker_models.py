"""
sync or gthread: gunicorn's two worker models side by side, at the same
WEB_CONCURRENCY, with memcached on loopback and 1 ms away. config/gunicorn.py
(and so the Procfile) uses the one that serves more page hits with memcached
1 ms away, as MemCachier is from a dyno.

All four servers (each model, each distance) run at once and take turns
(bench/side_by_side.py). The same rounds give the target "1 ms away keeps
80% of loopback" for the configured model.
"""

from bench.data import seed
from bench.load import load_run, start_gunicorn, visitor, wrk
from bench.modes import app_env
from bench.side_by_side import alternate

MODELS = ("sync", "gthread")
COMPARED_MODES = ("page", "fragments")


def compare(services, counters, args, results):
    for mode in COMPARED_MODES:
        compare_mode(mode, services, counters, args, results)


def compare_mode(mode, services, counters, args, results):
    proxy_info = services[3]
    count = args.compare_tasks
    servers = {}
    try:
        for delayed in (False, True):
            env = app_env(services, mode, delayed)
            where = "delayed" if delayed else "loopback"
            for model in MODELS:
                servers[model, delayed] = start_gunicorn(f"{mode}-{where}-{model}", env, worker_class=model)
        seed(count)
        who = {contender: visitor(server.url) for contender, server in servers.items()}
        for contender, server in servers.items():
            wrk(server.url, "/", *who[contender], args, args.warmup)

        def measure(contender, round_number):
            model, delayed = contender
            run = load_run(counters, servers[contender].url, "/", who[contender], args, delayed)
            results.append(
                {
                    "scenario": "workers",
                    "worker_class": model,
                    "mode": mode,
                    "tasks": count,
                    "rtt_ms": proxy_info["rtt_added_ms"] if delayed else 0.0,
                    "round": round_number,
                    **run,
                }
            )
            where = "delayed" if delayed else "loopback"
            print(f"{mode:>10} {where:>8} {model:>7} round {round_number}: {run['rps']:7.0f} req/s", flush=True)

        alternate(servers, args.rounds, measure)
    finally:
        for server in servers.values():
            server.stop()
