"""
Load on the app under gunicorn: wrk runs (throughput, latency, counts per
request) and GETs one at a time (exact counts), from another process on
loopback.
"""

import http.client
import json
import re
import runpy
import statistics
import subprocess
import time
import urllib.request
from pathlib import Path

from bench.counting import per_request
from harness.services import Gunicorn, find_program

BENCH = Path(__file__).resolve().parent
WORK = BENCH / ".work"  # gunicorn logs; ignored by git
WRK_SCRIPT = BENCH / "wrk.lua"
WORKERS = 2
# config/gunicorn.py as the Procfile runs it: its worker model is the one measured.
GUNICORN_CONFIG = runpy.run_path(str(BENCH.parent / "config" / "gunicorn.py"))


def start_gunicorn(name, env):
    """The app under gunicorn with config/gunicorn.py, as the Procfile runs it.

    It trusts X-Forwarded-For, as on a dyno: each write of bench/wrk.lua says
    it comes from an address of its own, so the app's limits on what one
    address may write are counted, as in production, and never reached."""
    WORK.mkdir(exist_ok=True)
    log = open(WORK / f"gunicorn-{name}.log", "ab")
    env = {"DJANGO_SETTINGS_MODULE": "bench.settings", "TRUST_X_FORWARDED_FOR": "1", **env}
    server = Gunicorn(env, workers=WORKERS)
    server.start(stdout=log)
    log.close()
    return server


def visitor(url):
    """(csrftoken cookie, form token) of a first visit: what a browser keeps."""
    with urllib.request.urlopen(url + "/") as response:
        cookies = " ".join(response.headers.get_all("Set-Cookie") or [])
        body = response.read()
    cookie = re.search(r"csrftoken=([^;]+)", cookies).group(1)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1).decode()
    return cookie, token


def get(url, path, cookie):
    """One GET on a fresh connection, as a new visitor's first:
    (seconds, status, X-Cache header, body)."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    start = time.perf_counter()
    connection.request("GET", path, headers={"Cookie": f"csrftoken={cookie}"})
    response = connection.getresponse()
    body = response.read()
    seconds = time.perf_counter() - start
    connection.close()
    return seconds, response.status, response.getheader("X-Cache"), body


def wrk(url, path, cookie, token, args, duration, writes=None, headers=()):
    command = [
        find_program("wrk"),
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{duration}s",
        "--timeout",
        "30s",
        "-s",
        str(WRK_SCRIPT),
        url,
        "--",
        path,
        cookie,
        token,
    ]
    if writes:
        command += [str(args.write_every), str(writes["first_new_id"]), str(args.threads)]
    for header in headers:
        command[1:1] = ["-H", header]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("WRK_JSON "))
    return json.loads(line.removeprefix("WRK_JSON "))


def load_run(counters, url, path, who, args, delayed, writes=None, headers=()):
    """One measured wrk run: throughput, latency and counts per request."""
    cookie, token = who
    # Requests of an earlier wrk run (the warm-up) may still be queued.
    before = counters.settle(url)
    result = wrk(url, path, cookie, token, args, args.duration, writes, headers)
    seconds = result["duration_us"] / 1e6
    after = counters.settle(url)
    counts = per_request(before, after, result["sent"], delayed)
    return {
        "requests": result["requests"],
        "sent": result["sent"],
        "rps": result["requests"] / seconds,
        "p50_ms": result["p50_us"] / 1000,
        "p90_ms": result["p90_us"] / 1000,
        "p99_ms": result["p99_us"] / 1000,
        "bytes_per_response": result["bytes"] / max(result["requests"], 1),
        "errors": sum(result[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts")),
        "non_2xx_3xx": result["status_errors"],
        **counts,
    }


def single_gets(counters, url, who, args, delayed, before_each=None):
    """GETs one at a time, each timed and counted alone: exact counts per
    request, where a wrk run can only give totals over many. before_each(n)
    runs before the n-th GET, outside what is timed and counted."""
    cookie, _ = who
    times, totals, statuses = [], None, set()
    for n in range(args.repeats):
        if before_each:
            before_each(n)
        before = counters.read()
        seconds, status, x_cache, _ = get(url, "/", cookie)
        after = counters.read()
        times.append(seconds * 1000)
        statuses.add((status, x_cache))
        delta = {name: after[name] - before[name] for name in before}
        totals = delta if totals is None else {k: totals[k] + delta[k] for k in totals}
    return {
        "requests": args.repeats,
        "median_ms": statistics.median(times),
        "min_ms": min(times),
        "max_ms": max(times),
        "non_2xx_3xx": sum(1 for status, _ in statuses if status >= 400),
        "x_cache": sorted({x for _, x in statuses if x}),
        **per_request({k: 0 for k in totals}, totals, args.repeats, delayed),
    }
