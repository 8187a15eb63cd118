"""
What the Server-Timing header costs a page hit: the same app with and
without config/server_timing.py's middleware (BENCH_SERVER_TIMING=0, see
bench/settings.py), side by side (bench/side_by_side.py), medians compared.
"""

from bench.data import seed
from bench.load import load_run, start_gunicorn, visitor, wrk
from bench.modes import app_env
from bench.side_by_side import alternate


def compare(services, counters, args, results):
    count = args.compare_tasks
    env = app_env(services, "page")
    servers = {
        "on": start_gunicorn("server-timing-on", env),
        "off": start_gunicorn("server-timing-off", {**env, "BENCH_SERVER_TIMING": "0"}),
    }
    try:
        seed(count)
        who = {name: visitor(server.url) for name, server in servers.items()}
        for name, server in servers.items():
            wrk(server.url, "/", *who[name], args, args.warmup)

        def measure(name, round_number):
            run = load_run(counters, servers[name].url, "/", who[name], args, delayed=False)
            results.append(
                {
                    "scenario": "server_timing",
                    "server_timing": name,
                    "mode": "page",
                    "tasks": count,
                    "rtt_ms": 0.0,
                    "round": round_number,
                    **run,
                }
            )
            print(f"Server-Timing {name:>3} round {round_number}: {run['rps']:7.0f} req/s", flush=True)

        alternate(servers, args.rounds, measure)
    finally:
        for server in servers.values():
            server.stop()
