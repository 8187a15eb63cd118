"""
A page hit against its ceiling, the constant Django view (bench/urls.py: the
same app, middleware and body size, nothing else), on one server, the two
URLs taking turns (bench/side_by_side.py). The issues' targets are set as
this share; measured in one sequence of single runs instead, a noisy moment
on the shared machine moved it by 30 points from one run to the next.
"""

from bench.data import seed
from bench.load import get, load_run, start_gunicorn, visitor, wrk
from bench.modes import app_env
from bench.side_by_side import alternate


def compare(services, counters, args, results):
    count = args.compare_tasks
    server = start_gunicorn("ceiling-share", app_env(services, "page"))
    try:
        seed(count)
        who = visitor(server.url)
        size = len(get(server.url, "/", who[0])[3])
        paths = {"page": "/", "constant": f"/constant/{size}"}
        for path in paths.values():
            wrk(server.url, path, *who, args, args.warmup)

        def measure(name, round_number):
            run = load_run(counters, server.url, paths[name], who, args, delayed=False)
            results.append(
                {
                    "scenario": "ceiling_share",
                    "mode": name,
                    "tasks": count,
                    "rtt_ms": 0.0,
                    "body_bytes": size,
                    "round": round_number,
                    **run,
                }
            )
            print(f"ceiling share {name:>8} round {round_number}: {run['rps']:7.0f} req/s", flush=True)

        alternate(paths, args.rounds, measure)
    finally:
        server.stop()
