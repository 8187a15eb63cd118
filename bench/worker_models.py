"""
sync or gthread: gunicorn's two worker models side by side, at the same
WEB_CONCURRENCY, with memcached on loopback and 1 ms away. config/gunicorn.py
(and so the Procfile) uses the one that serves more page hits with memcached
1 ms away, as MemCachier is from a dyno.

Both servers run at once; rounds alternate which goes first, and the report
takes each one's median, so that a noisy moment on the shared machine
doesn't pick the winner.
"""

from bench.data import seed
from bench.load import load_run, start_gunicorn, visitor, wrk
from bench.modes import MODES

MODELS = ("sync", "gthread")
COMPARED_MODES = ("page", "fragments")


def compare(services, counters, args, results):
    postgres, memcached, proxy, proxy_info = services
    count = args.compare_tasks
    for mode in COMPARED_MODES:
        for delayed in (False, True):
            env = {
                "DATABASE_URL": postgres.url,
                "MEMCACHIER_SERVERS": f"127.0.0.1:{proxy.port}" if delayed else memcached.address,
                "BENCH_DUMMY_CACHE": "0",
                **MODES[mode][1],
            }
            where = "delayed" if delayed else "loopback"
            servers = {model: start_gunicorn(f"{mode}-{where}-{model}", env, worker_class=model) for model in MODELS}
            try:
                seed(count)
                who = {model: visitor(server.url) for model, server in servers.items()}
                for model, server in servers.items():
                    wrk(server.url, "/", *who[model], args, args.warmup)
                for round_number in range(args.rounds):
                    order = MODELS if round_number % 2 == 0 else MODELS[::-1]
                    for model in order:
                        run = load_run(counters, servers[model].url, "/", who[model], args, delayed)
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
                        rps = run["rps"]
                        print(f"{mode:>10} {where:>8} {model:>7} round {round_number}: {rps:7.0f} req/s", flush=True)
            finally:
                for server in servers.values():
                    server.stop()
