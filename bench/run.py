"""
The load benchmark: what each caching layer buys, side by side in one run.

    make bench                       # the full run, about 15 minutes on 2 cores
    make bench BENCH_ARGS=--quick    # the smoke run CI does, about a minute
    python -m bench.report           # tables and plots again from results.json

It starts a real PostgreSQL and memcached (tests/services.py), the app under
gunicorn exactly as the Procfile does (same config file, 2 sync workers),
seeds N tasks straight into the database and drives the app with wrk from
another process on loopback. For each mode (which cache layers are on) and N:

- warm reads: GET / only, everything the mode caches already cached;
- mixed: 1 write per 100 reads, the writes real CSRF-protected POSTs;
- after change: one task edited through Django (so the list version moves),
  then one GET, timed alone; repeated;
- single: warm GETs again, one at a time, for exact counts per request;

all of it with memcached on loopback, then again behind bench/delay_proxy.py
(1 ms round trip, like a hosted memcache). Then, in this process, what the
HMAC on every cached value costs a hit and a rebuild (bench/costs.py). Plus two ceilings under the same
gunicorn settings, serving a body as big as the task page: a bare WSGI app
and a constant Django view through the app's middleware.

Counts per request come from the servers themselves: SQL statements from
pg_stat_statements, keys got and set from memcached's `stats`, round trips
to memcached from the delay proxy (so only in the delayed runs; the code
path is the same on loopback).

Output in bench/results/ (a temp dir for --quick, so that a smoke run never
replaces the full run the README shows): results.json, results.md (tables
and the issue's targets) and PNG plots, both by bench/report.py.
"""

import argparse
import http.client
import io
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from bench import costs
from tests.services import Gunicorn, Memcached, Postgres, find_program, free_port, wait_for_port

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
WORK = BENCH / ".work"  # gunicorn logs; ignored by git
WRK_SCRIPT = BENCH / "wrk.lua"

# mode -> (label, app environment). "none" needs DummyCache: see bench/settings.py.
MODES = {
    "none": ("no cache (DummyCache)", {"BENCH_DUMMY_CACHE": "1", "CACHE_LAYERS": "none"}),
    "query": ("query cache", {"CACHE_LAYERS": "query"}),
    "fragments": ("query + fragments", {"CACHE_LAYERS": "query,fragments"}),
    "page": ("full page", {"CACHE_LAYERS": "query,fragments,page"}),
}
CEILINGS = {
    "constant": "ceiling: constant Django view",
    "bare": "ceiling: bare WSGI app",
}
WORKERS = 2
SECRET_KEY = "bench-only-key-not-secret-0123456789abcdefghijklmnopqrstuvwxyz"

# Task names of realistic length, numbered so that no two rows are alike.
CHORES = [
    "Buy milk and bread",
    "Call the plumber about the kitchen sink",
    "Renew the car insurance",
    "Write the quarterly report",
    "Book a dentist appointment",
    "Water the plants on the balcony",
    "Reply to Alice about the offsite",
    "Fix the flaky test in CI",
]


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", default="10,100,1000,10000", help="task counts, comma-separated")
    parser.add_argument("--modes", default=",".join(MODES), help="cache modes, comma-separated")
    parser.add_argument("--duration", type=int, default=6, help="seconds per measured wrk run")
    parser.add_argument("--warmup", type=int, default=1, help="seconds of unmeasured load first")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=15, help="GETs timed one at a time, per scenario")
    parser.add_argument("--write-every", type=int, default=100, help="reads per write, mixed load")
    parser.add_argument("--rtt-ms", type=float, default=1.0, help="memcached round trip, delayed runs")
    parser.add_argument("--out", type=Path, help="results folder (default: bench/results, a temp dir with --quick)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 10 tasks, 1 s per run")
    args = parser.parse_args(argv)
    if args.quick:
        # Shorter defaults; options given explicitly still win.
        parser.set_defaults(tasks="10", duration=1, warmup=1, repeats=3)
        args = parser.parse_args(argv)
    # bench/results holds the full run the README shows: a smoke run must
    # not replace it.
    if args.out is None:
        args.out = Path(tempfile.mkdtemp(prefix="bench-quick-")) if args.quick else RESULTS
    args.tasks = [int(n) for n in args.tasks.split(",")]
    args.modes = args.modes.split(",")
    unknown = set(args.modes) - set(MODES)
    if unknown:
        parser.error(f"unknown modes: {sorted(unknown)}")
    return args


# --- counting, from the servers' own statistics -------------------------------


def memcached_stats(port):
    """memcached's `stats` (text protocol; this memcached has no SASL)."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"stats\r\n")
        data = b""
        while not data.endswith(b"END\r\n"):
            data += sock.recv(65536)
    lines = (line.split(" ", 2) for line in data.decode().splitlines() if line.startswith("STAT "))
    return {name: value for _, name, value in lines}


def round_trip_ms(port, samples=300):
    """Median time of a memcached `version` command: one bare round trip."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        times = []
        for _ in range(samples):
            start = time.perf_counter()
            sock.sendall(b"version\r\n")
            data = b""
            while not data.endswith(b"\r\n"):
                data += sock.recv(256)
            times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


class DelayProxy:
    """bench/delay_proxy.py in its own process (its own GIL) in front of memcached."""

    def __init__(self, target_port, delay_ms):
        self.target_port = target_port
        self.delay_ms = delay_ms
        self.port, self.control_port = free_port(), free_port()
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.delay_proxy",
                "--port",
                str(self.port),
                "--target",
                f"127.0.0.1:{self.target_port}",
                "--delay-ms",
                str(self.delay_ms),
                "--control-port",
                str(self.control_port),
            ],
            cwd=BENCH.parent,
        )
        wait_for_port(self.control_port, process=self.process)
        wait_for_port(self.port, process=self.process)
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def round_trips(self):
        with socket.create_connection(("127.0.0.1", self.control_port)) as sock:
            return json.loads(sock.makefile().readline())["round_trips"]


def calibrated_proxy(stack, memcached_port, rtt_ms):
    """A delay proxy adding rtt_ms per round trip, as measured, not as asked.

    time.sleep overshoots and the proxy's threads add their own hand-offs, so
    asking for rtt_ms / 2 each way gives a bit more: measure, correct once.
    """
    direct = round_trip_ms(memcached_port)
    delay_ms = rtt_ms / 2
    for attempt in range(2):
        proxy = DelayProxy(memcached_port, delay_ms).start()
        added = round_trip_ms(proxy.port) - direct
        if attempt or abs(added - rtt_ms) < 0.03 * rtt_ms:
            break
        proxy.stop()
        delay_ms = max(0.05, delay_ms - (added - rtt_ms) / 2)
    stack.callback(proxy.stop)
    return proxy, {
        "rtt_asked_ms": rtt_ms,
        "delay_each_way_ms": round(delay_ms, 4),
        "rtt_added_ms": round(added, 4),
        "rtt_loopback_ms": round(direct, 4),
    }


class Counters:
    """SQL statements, memcached keys and round trips, as the servers count them."""

    def __init__(self, postgres, memcached, proxy):
        import psycopg2

        # Read from the "postgres" database, filtered on "tasks": reading the
        # counts must not add a statement to them.
        self.db = psycopg2.connect(host="127.0.0.1", port=postgres.port, user="postgres", dbname="postgres")
        self.db.autocommit = True
        with self.db.cursor() as cursor:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        self.memcached = memcached
        self.proxy = proxy

    def read(self):
        with self.db.cursor() as cursor:
            cursor.execute(
                "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements s"
                " JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = 'tasks'"
            )
            sql = int(cursor.fetchone()[0])
        stats = memcached_stats(self.memcached.port)
        return {
            "sql": sql,
            # cmd_get counts keys: a get_many of 2 keys is 2 here, 1 round trip.
            "keys_got": int(stats["cmd_get"]),
            "get_hits": int(stats["get_hits"]),
            "keys_set": int(stats["cmd_set"]),
            "evictions": int(stats["evictions"]),
            "round_trips": self.proxy.round_trips(),
        }

    def settle(self, url):
        """Counts once the app at url has served everything it was sent.

        When wrk stops, the requests it had sent are still queued at gunicorn
        and get served (and counted) afterwards. Waiting for the counts to
        stop moving is not enough: at 10,000 tasks without cache one request
        takes longer than any sensible window.
        """
        port = int(url.rsplit(":", 1)[1])
        deadline = time.monotonic() + 300
        while app_busy(port):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the app on port {port} is still busy after 300 s")
            time.sleep(0.05)
        return self.read()


def app_busy(port):
    """Whether a connection to 127.0.0.1:port is queued or being served.

    gunicorn's sync workers close every connection once they have answered
    it, so a server-side socket still open, or one still waiting in the
    listen backlog, is a request not served yet. Read from /proc/net/tcp:
    Linux only, like the rest of this benchmark.
    """
    local = f"0100007F:{port:04X}"
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] != local:
            continue
        state, queued = fields[3], int(fields[4].split(":")[1], 16)
        if state in ("01", "03", "08"):  # ESTABLISHED, SYN_RECV, CLOSE_WAIT
            return True
        if state == "0A" and queued:  # LISTEN: rx_queue is the accept backlog
            return True
    return False


def per_request(before, after, requests, delayed):
    counts = {name: (after[name] - before[name]) / max(requests, 1) for name in before}
    # Round trips are only seen through the proxy; on loopback the code path
    # is the same, but there is nothing in between to count them.
    if not delayed:
        counts["round_trips"] = None
    return counts


# --- the app and its data ------------------------------------------------------


def setup_django(postgres, memcached):
    """Django in this process, on the same database and memcached: for
    migrations, seeding and edits that go through the app's own models."""
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DATABASE_URL": postgres.url,
            "MEMCACHIER_SERVERS": memcached.address,
            "SECRET_KEY": os.environ.get("SECRET_KEY") or SECRET_KEY,
            "BENCH_DUMMY_CACHE": "0",
            "CACHE_LAYERS": "query,fragments,page",
        }
    )
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def seed(count):
    """count tasks straight into PostgreSQL (COPY): ids 1..count, oldest first."""
    from django.core.cache import cache
    from django.db import connection

    start = datetime.now(UTC) - timedelta(days=1)
    rows = io.StringIO()
    for i in range(count):
        created = (start + timedelta(milliseconds=i)).isoformat()
        rows.write(f"{CHORES[i % len(CHORES)]} #{i + 1}\t{created}\t{created}\n")
    rows.seek(0)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE tasks_task RESTART IDENTITY")
        cursor.copy_expert("COPY tasks_task (name, created_at, updated_at) FROM STDIN", rows)
        cursor.execute("ANALYZE tasks_task")
    # Raw SQL sends no signal, so nothing invalidated the old list: start
    # from an empty memcached (its stats counters keep going).
    cache.clear()


def edit_one_task(count, n):
    """Rename the middle task through the model layer: the list version
    moves after commit, exactly as for an edit made in the app."""
    from tasks.models import Task

    Task.objects.filter(pk=count // 2 + 1).update(name=f"Edited task, take {n}")


def task_count():
    from tasks.models import Task

    return Task.objects.count()


def start_gunicorn(name, env, app="config.wsgi"):
    WORK.mkdir(exist_ok=True)
    log = open(WORK / f"gunicorn-{name}.log", "ab")
    server = Gunicorn({"DJANGO_SETTINGS_MODULE": "bench.settings", **env}, workers=WORKERS, app=app)
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
    """One GET on a fresh connection (gunicorn's sync workers close each one):
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


def wrk(url, path, cookie, token, args, duration, writes=None):
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
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("WRK_JSON "))
    return json.loads(line.removeprefix("WRK_JSON "))


# --- scenarios -----------------------------------------------------------------


def load_run(counters, url, path, who, args, delayed, writes=None):
    """One measured wrk run: throughput, latency and counts per request."""
    cookie, token = who
    # Requests of an earlier wrk run (the warm-up) may still be queued.
    before = counters.settle(url)
    result = wrk(url, path, cookie, token, args, args.duration, writes)
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


def bench_mode(mode, delayed, services, counters, args, results, page_sizes):
    """Every scenario and task count for one mode, on one gunicorn."""
    postgres, memcached, proxy, proxy_info = services
    label = f"{mode}-{'delayed' if delayed else 'loopback'}"
    env = {
        "DATABASE_URL": postgres.url,
        "MEMCACHIER_SERVERS": f"127.0.0.1:{proxy.port}" if delayed else memcached.address,
        "BENCH_DUMMY_CACHE": "0",
        **MODES[mode][1],
    }
    rtt = proxy_info["rtt_added_ms"] if delayed else 0.0
    server = start_gunicorn(label, env)
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


def bench_bare(counters, args, results, page_sizes):
    """The bare WSGI ceiling, for the page size seen at each task count."""
    server = start_gunicorn("bare", {}, app="bench.bare_wsgi:application")
    try:
        for count in args.tasks:
            size = page_sizes[count]
            run = load_run(counters, server.url, f"/constant/{size}", ("-", "-"), args, False)
            results.append(
                {"scenario": "warm", "mode": "bare", "tasks": count, "rtt_ms": 0.0, "body_bytes": size, **run}
            )
            print(f"{'bare WSGI':>18} {count:>6} tasks: warm {run['rps']:7.0f} req/s", flush=True)
    finally:
        server.stop()


# --- where and when ---------------------------------------------------------------


def machine():
    cpuinfo = Path("/proc/cpuinfo").read_text()
    meminfo = Path("/proc/meminfo").read_text()
    model = re.search(r"model name\s*:\s*(.*)", cpuinfo)
    memory_kb = int(re.search(r"MemTotal:\s*(\d+)", meminfo).group(1))
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model.group(1).strip() if model else platform.processor(),
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def versions(counters, memcached):
    import django
    import gunicorn

    with counters.db.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres_version = cursor.fetchone()[0]
    wrk_banner = subprocess.run([find_program("wrk"), "-v"], capture_output=True, text=True)
    return {
        "python": platform.python_version(),
        "django": django.get_version(),
        "gunicorn": gunicorn.__version__,
        "postgresql": postgres_version,
        "memcached": memcached_stats(memcached.port)["version"],
        "wrk": (wrk_banner.stdout + wrk_banner.stderr).split(" Copyright")[0].strip(),
    }


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if not find_program("wrk"):
        sys.exit("wrk is missing: apt-get install wrk (or `make bench`, which installs it)")
    started = time.monotonic()
    results, page_sizes = [], {}
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "settings": {
            "gunicorn_workers": WORKERS,
            "wrk_threads": args.threads,
            "wrk_connections": args.connections,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "after_change_repeats": args.repeats,
            "write_every": args.write_every,
            "tasks": args.tasks,
            "modes": args.modes,
            "quick": args.quick,
        },
        "labels": {**{mode: label for mode, (label, _) in MODES.items()}, **CEILINGS},
    }
    with ExitStack() as stack:
        postgres = Postgres()
        stack.callback(postgres.remove)
        postgres.start()
        # Room for every page, list and row of the largest N several times
        # over: evictions would turn hits into misses and blur the modes.
        memcached = Memcached(memory_mb=512)
        stack.callback(memcached.stop)
        memcached.start()
        proxy, report["proxy"] = calibrated_proxy(stack, memcached.port, args.rtt_ms)
        print(f"delay proxy: {report['proxy']}", flush=True)
        setup_django(postgres, memcached)
        counters = Counters(postgres, memcached, proxy)
        stack.callback(counters.db.close)
        report["versions"] = versions(counters, memcached)
        services = (postgres, memcached, proxy, report["proxy"])
        # "page" first: its page sizes set the ceilings' body sizes.
        for mode in sorted(args.modes, key=lambda m: m != "page"):
            for delayed in (False, True):
                bench_mode(mode, delayed, services, counters, args, results, page_sizes)
        bench_bare(counters, args, results, page_sizes)
        report["costs"] = []
        for count in args.tasks:
            seed(count)
            report["costs"].append(costs.signing(count))
    report["runs"] = results
    report["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    report["duration_s"] = round(time.monotonic() - started)

    from bench import report as reporting

    reporting.write(report, args.out)
    print(f"results in {args.out} after {report['duration_s']} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
