"""
What the Server-Timing header costs a page hit: one gunicorn serving the
app with and without config/server_timing.py's middleware
(bench/server_timing_wsgi.py picks per request), rounds alternating
(bench/side_by_side.py). Each round with it is compared with the round
without it next to it in time, and the report takes the median of those
ratios: a noisy moment on the shared machine then moves both sides of a
ratio alike.
"""

import urllib.request

from bench.data import seed
from bench.load import load_run, start_gunicorn, visitor, wrk
from bench.modes import app_env
from bench.side_by_side import alternate

HEADERS = {"on": (), "off": ("X-Bench-Server-Timing: off",)}


def compare(services, counters, args, results):
    count = args.compare_tasks
    server = start_gunicorn("server-timing", app_env(services, "page"), app="bench.server_timing_wsgi:application")
    try:
        seed(count)
        who = visitor(server.url)
        for name, headers in HEADERS.items():
            # The comparison means nothing if the header didn't pick the handler.
            request = urllib.request.Request(server.url + "/", headers=dict(h.split(": ", 1) for h in headers))
            with urllib.request.urlopen(request) as response:
                assert (response.headers["Server-Timing"] is not None) == (name == "on"), name
            wrk(server.url, "/", *who, args, args.warmup, headers=headers)

        def measure(name, round_number):
            run = load_run(counters, server.url, "/", who, args, delayed=False, headers=HEADERS[name])
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

        alternate(HEADERS, args.rounds, measure)
    finally:
        server.stop()
