"""
Fault runs: the app under load while memcached and PostgreSQL fail.

    make faults                                  # full run, about 7 minutes
    make faults FAULT_ARGS="--quick"             # short phases, results in a temp dir
    make faults FAULT_ARGS="--phases memcached-hung,postgres-restart"

The app runs as in production (gunicorn, 2 sync workers, config/gunicorn.py)
on its own PostgreSQL and memcached (tests/services.py). A Python load loop
(reader and writer threads, one connection per request, as gunicorn's sync
workers close them) records every request: when it started and ended, its
status and its X-Cache header. Readers GET the list. Writers add a task, read
the page, and delete their tasks older than the last two they added, so tasks
live across the faults.

Phases (PHASES below; each one load run, with at most one fault):

- baseline, stale-reads (more writers, no pause), stale-reads-file-cache (the
  embedded default: no MEMCACHIER_SERVERS, FileBasedCache shared by the workers);
- memcached-down-at-start: the app starts while memcached is stopped;
- memcached-killed: SIGKILL mid-load, started again 10 s later (empty);
- memcached-restarted: SIGTERM and an immediate start (empty);
- memcached-hung: memcached replaced by a tarpit (bench/tarpit.py) on its
  port: connections are accepted, nothing is ever answered;
- memcached-frozen: SIGSTOP then SIGCONT: hung, and back with its old data;
- memcached-cut-off: the network path to memcached drops everything for 10 s
  (a cuttable proxy, bench/tarpit.py), then heals: what was sent meanwhile is
  lost, and memcached is back with its old data;
- postgres-restart: PostgreSQL stopped (fast) and started 3 s later;
- scale-out, scale-out-tagged: MEMCACHIER_SERVERS with 3 servers; one holding
  a share of the keys (without, then with, the {tasklist} keys) is stopped.

Requests are split into windows: before (finished before the fault began),
during (overlapping it), after (started once the server was back). Per window:
counts, 5xx, connection errors, latency percentiles, the share over 50 ms and
over MEMCACHIER_TIMEOUT, the page hit ratio; after a fault, how long until the
first page hit and until the hit ratio is back to 90% of the baseline's. Every
read is checked against every acknowledged write (check_reads). Each phase
has pass/fail checks; the exit status is 1 if any failed.

Results: bench/results/faults.json and faults.md (a temp dir with --quick).

The client, load loop, stale-read check and Rig are used by the short
versions in tests/ (test_faults_under_load.py, test_postgres_restart.py,
test_scale_out.py, test_no_stale_reads.py).
"""

import argparse
import bisect
import datetime
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from bench.run import machine, memcached_stats
from bench.tarpit import Tarpit
from tests.services import Gunicorn, Memcached, Postgres, find_program
from tests.visitor import TOKEN as CSRF_TOKEN
from tests.visitor import Visitor as Browser

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"

# One row of the list: the name (HTML-escaped) and the task's delete form.
TASK_ROW = re.compile(r'<span class="task-name">([^<]*)</span>\s*<form[^>]*action="/(\d+)/delete"')
SLOW_SECONDS = 0.05
# The keys that live together on one server (tasks/cache.py's hash tag).
TAGGED = "{tasklist}"
# Recovered "within seconds": config.memcached skips a failed server for 5 s.
RECOVERY_LIMIT_SECONDS = 10


# --------------------------------------------------------------------------
# HTTP client
# --------------------------------------------------------------------------


@dataclass
class Result:
    method: str
    path: str
    status: int  # 0: no HTTP answer (connection refused, reset, timeout)
    started: float  # time.monotonic()
    finished: float
    x_cache: str = ""
    error: str = ""
    tasks: dict = None  # id -> name, for pages of the list

    @property
    def latency(self):
        return self.finished - self.started

    @property
    def names(self):
        return set(self.tasks.values()) if self.tasks is not None else None


def parse_tasks(page):
    """{id: name} of the rows on a list page (names as shown: HTML-escaped)."""
    return {int(task_id): name for name, task_id in TASK_ROW.findall(page)}


class Visitor:
    """One browser under load: tests/visitor.py's cookie jar and HTTP, plus
    the timing of each request, the CSRF token of the last page seen and the
    tasks a list page showed."""

    def __init__(self, base_url, timeout=10.0):
        self.browser = Browser(base_url, timeout=timeout)
        self.token = None

    def request(self, method, path, fields=None):
        started = time.monotonic()
        try:
            response = self.browser.request(method, path, fields)
        except (OSError, http.client.HTTPException) as error:
            return Result(method, path, 0, started, time.monotonic(), error=repr(error))
        result = Result(
            method, path, response.status, started, time.monotonic(), x_cache=response.headers.get("X-Cache", "")
        )
        token = CSRF_TOKEN.search(response.text)
        if token:
            self.token = token.group(1)
        if method == "GET" and response.status == 200 and path == "/":
            result.tasks = parse_tasks(response.text)
        return result

    def get(self, path="/"):
        return self.request("GET", path)

    def post(self, path, fields=None):
        """POST a form with the CSRF token of the last page this visitor got."""
        return self.request("POST", path, {**(fields or {}), "csrfmiddlewaretoken": self.token or ""})


# --------------------------------------------------------------------------
# Load
# --------------------------------------------------------------------------


@dataclass
class Write:
    """One task's life: added, then deleted, as a writer saw it."""

    name: str
    add: Result = None
    delete: Result = None
    uncertain: bool = False  # a write got no clear answer: it may or may not have happened


class Load:
    """Reader and writer threads against one app URL, recording every request.

    Every writer keeps its last `keep` tasks: each round it adds one, reads
    the page and deletes the older ones it finds there.
    """

    def __init__(self, url, readers=4, writers=2, write_pause=0.2, keep=2, prefix="load"):
        self.url = url
        self.readers = readers
        self.writers = writers
        self.write_pause = write_pause
        self.keep = keep
        self.prefix = prefix
        self.records = []  # every Result; list.append is atomic
        self.writes = []
        self._stop = threading.Event()
        self._threads = []

    def start(self):
        for number in range(self.readers):
            self._spawn(self._read, number)
        for number in range(self.writers):
            self._spawn(self._write, number)
        return self

    def _spawn(self, target, number):
        thread = threading.Thread(target=target, args=(number,), name=f"{target.__name__}-{number}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _record(self, result):
        self.records.append(result)
        return result

    def _read(self, number):
        visitor = Visitor(self.url)
        while not self._stop.is_set():
            self._record(visitor.get("/"))

    def _write(self, number):
        visitor = Visitor(self.url)
        self._record(visitor.get("/"))  # a CSRF token
        live = []  # my tasks not deleted yet, oldest first
        round_number = 0
        while not self._stop.is_set():
            round_number += 1
            write = Write(f"{self.prefix}-w{number}-{round_number}")
            self.writes.append(write)
            write.add = self._record(visitor.post("/", {"name": write.name}))
            write.uncertain = write.add.status != 302
            live.append(write)
            page = self._record(visitor.get("/"))
            if page.tasks is not None:
                ids = {name: task_id for task_id, name in page.tasks.items()}
                for old in live[: -self.keep]:
                    if old.name in ids:
                        old.delete = self._record(visitor.post(f"/{ids[old.name]}/delete"))
                        old.uncertain = old.uncertain or old.delete.status != 302
                        live.remove(old)
                    elif old.uncertain:
                        live.remove(old)  # probably never added: stop looking for it
            if self.write_pause:
                self._stop.wait(self.write_pause)

    def stop(self):
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
        return self

    def since(self, moment):
        """The requests that started at or after `moment` (time.monotonic())."""
        return [r for r in list(self.records) if r.started >= moment]

    def wait_until(self, condition, timeout=60.0, what="condition"):
        """Poll condition() while the load runs; TimeoutError after timeout."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"load: no {what} after {timeout} s")
            time.sleep(0.02)

    def wait_for_requests(self, count, since=0.0, timeout=60.0):
        """Until `count` requests that started at or after `since` have finished."""
        self.wait_until(lambda: len(self.since(since)) >= count, timeout, f"{count} requests")

    def wait_for_hit(self, since, timeout=60.0, count=1):
        """Until `count` page hits (X-Cache: HIT) that started at or after `since`."""

        def hits():
            return sum(1 for r in self.since(since) if r.x_cache == "HIT")

        self.wait_until(lambda: hits() >= count, timeout, f"{count} page hits")

    def wait_for_writes(self, count, since=0.0, timeout=60.0):
        """Until `count` tasks added at or after `since` were acknowledged."""

        def acknowledged():
            return sum(1 for w in list(self.writes) if w.add and w.add.status == 302 and w.add.started >= since)

        self.wait_until(lambda: acknowledged() >= count, timeout, f"{count} acknowledged writes")

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def first_hit(records):
    return min((r.started for r in records if r.x_cache == "HIT"), default=None)


# --------------------------------------------------------------------------
# No stale reads
# --------------------------------------------------------------------------


@dataclass
class StaleCheck:
    checked: int = 0  # (read, acknowledged write) pairs the read had to reflect
    problems: list = field(default_factory=list)  # (read, write, what)


def check_reads(records, writes):
    """Every read that started after a write was acknowledged must show it.

    A read that started after a task's creation was acknowledged, and ended
    before its deletion was sent, must show the task; a read that started
    after its deletion was acknowledged must not. Writes with no clear answer
    are left out. Task names are unique and need no HTML escaping.
    """
    reads = sorted((r for r in records if r.tasks is not None), key=lambda r: r.started)
    starts = [r.started for r in reads]
    check = StaleCheck()
    for write in writes:
        if write.uncertain:
            continue
        if write.add:
            delete_sent = write.delete.started if write.delete else float("inf")
            for read in reads[bisect.bisect_right(starts, write.add.finished) :]:
                if read.started >= delete_sent:
                    break
                if read.finished < delete_sent:
                    check.checked += 1
                    if write.name not in read.names:
                        check.problems.append((read, write, "missing an added task"))
        if write.delete:
            for read in reads[bisect.bisect_right(starts, write.delete.finished) :]:
                check.checked += 1
                if write.name in read.names:
                    check.problems.append((read, write, "showing a deleted task"))
    return check


# --------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------


def percentile(sorted_values, fraction):
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


def share(part, whole):
    return round(part / whole, 4) if whole else None


def summarize(records, timeout=0.25):
    latencies = sorted(r.latency for r in records)
    reads = [r.latency for r in records if r.method == "GET"]
    pages = [r for r in records if r.method == "GET" and r.status == 200 and r.x_cache]
    ms = lambda value: None if value is None else round(value * 1000, 1)  # noqa: E731
    return {
        "requests": len(records),
        "ok": sum(1 for r in records if 200 <= r.status < 400),
        "4xx": sum(1 for r in records if 400 <= r.status < 500),
        "5xx": sum(1 for r in records if r.status >= 500),
        "errors": sum(1 for r in records if r.status == 0),
        "writes": sum(1 for r in records if r.method == "POST"),
        "writes_ok": sum(1 for r in records if r.method == "POST" and r.status == 302),
        "p50_ms": ms(percentile(latencies, 0.50)),
        "p90_ms": ms(percentile(latencies, 0.90)),
        "p99_ms": ms(percentile(latencies, 0.99)),
        "max_ms": ms(latencies[-1] if latencies else None),
        "over_50ms": share(sum(1 for v in latencies if v > SLOW_SECONDS), len(latencies)),
        "over_timeout": share(sum(1 for v in latencies if v >= timeout), len(latencies)),
        "reads_over_timeout": share(sum(1 for v in reads if v >= timeout), len(reads)),
        "hit_ratio": share(sum(1 for r in pages if r.x_cache == "HIT"), len(pages)),
    }


def split(records, began, restored):
    """before / during / after a fault that began at `began`, over at `restored`."""
    return {
        "before": [r for r in records if r.finished < began],
        "during": [r for r in records if r.finished >= began and r.started < restored],
        "after": [r for r in records if r.started >= restored],
    }


def timeline(records, origin, end, step=1.0):
    bins = []
    t = origin
    while t < end:
        summary = summarize([r for r in records if t <= r.started < t + step])
        figures = {k: summary[k] for k in ("requests", "5xx", "errors", "p99_ms", "hit_ratio")}
        bins.append({"t": round(t - origin, 2), **figures})
        t += step
    return bins


def recovery(records, restored, baseline_hit_ratio, end, step=0.5):
    """Seconds from `restored` to the first page hit, and to a bin at 90% of the baseline's hit ratio."""
    hit = first_hit([r for r in records if r.started >= restored])
    back = None
    t = restored
    while baseline_hit_ratio and t < end:
        ratio = summarize([r for r in records if t <= r.started < t + step])["hit_ratio"]
        if ratio is not None and ratio >= 0.9 * baseline_hit_ratio:
            back = t + step - restored
            break
        t += step
    return {
        "first_hit_s": None if hit is None else round(hit - restored, 2),
        "hit_ratio_back_s": None if back is None else round(back, 2),
    }


# --------------------------------------------------------------------------
# memcached, seen from the servers themselves
# --------------------------------------------------------------------------


def memcached_keys(port):
    """The keys a memcached server holds (`lru_crawler metadump all`)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"lru_crawler metadump all\r\n")
        data = b""
        while not data.endswith(b"END\r\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    return {
        unquote(line.split(" ", 1)[0][len("key=") :]) for line in data.decode().splitlines() if line.startswith("key=")
    }


def memcached_holds(port, keys):
    """The subset of keys a memcached server holds, asked key by key.

    Not from `lru_crawler metadump`: under load that is no snapshot (items
    that move in the LRU while it walks are skipped), so it can miss keys
    that are there.
    """
    keys = sorted(keys)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        # Meta get with no flags: "HD" if held, "EN" if not, one line each.
        sock.sendall(b"".join(f"mg {key}\r\n".encode() for key in keys))
        data = b""
        while data.count(b"\r\n") < len(keys):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    answers = data.decode().split("\r\n")
    return {key for key, answer in zip(keys, answers, strict=False) if answer == "HD"}


def server_items(servers):
    """{address: (curr_items, get_hits)} from each running server's own stats."""
    counts = {}
    for server in servers:
        if server.process is not None:
            stats = memcached_stats(server.port)
            counts[server.address] = (int(stats["curr_items"]), int(stats["get_hits"]))
    return counts


# --------------------------------------------------------------------------
# Servers and app
# --------------------------------------------------------------------------


class Rig:
    """The app under gunicorn on its own memcached server(s) and, unless given one, PostgreSQL.

    memcached=0 runs the embedded default instead: no MEMCACHIER_SERVERS, a
    FileBasedCache in the work folder, shared by the workers. path=True puts
    a path that can be cut (bench/tarpit.py) between the app and the first
    server.
    """

    def __init__(self, workdir, memcached=1, timeout=0.25, workers=2, database_url=None, path=False, worker_class=None):
        self.workdir = Path(workdir)
        self.worker_class = worker_class  # gunicorn's; None: config/gunicorn.py's
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.timeout = timeout
        self.workers = workers
        self.postgres = None if database_url else Postgres()
        self._database_url = database_url
        self.servers = [Memcached() for _ in range(memcached)]
        self.cache = "memcached" if memcached else "file"
        self._wants_path = path
        self.path = None  # a cuttable path to the first server (bench/tarpit.py), if any
        self.app = None
        self.log_path = self.workdir / "gunicorn.log"

    @property
    def memcached(self):
        return self.servers[0]

    @property
    def url(self):
        return self.app.url

    def env(self):
        env = {
            "DATABASE_URL": self._database_url or self.postgres.url,
            "MEMCACHIER_SERVERS": "",
            "FILE_CACHE_DIR": str(self.workdir / "file-cache"),
            "MEMCACHIER_TIMEOUT": str(self.timeout),
            "SECRET_KEY": os.environ.get("SECRET_KEY") or "faults-only-" + "x" * 50,
        }
        if self.worker_class:
            env["GUNICORN_CMD_ARGS"] = f"--worker-class={self.worker_class}"
        if self.cache == "memcached":
            addresses = [server.address for server in self.servers]
            if self.path:
                addresses[0] = self.path.address
            env["MEMCACHIER_SERVERS"] = ",".join(addresses)
        return env

    def start(self, seed_tasks=0, memcached_running=True):
        if self.postgres:
            self.postgres.start()
            subprocess.run(
                [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
                cwd=ROOT,
                env={**os.environ, **self.env(), "MEMCACHIER_SERVERS": ""},
                check=True,
            )
        if memcached_running:
            for server in self.servers:
                server.start()
        if self._wants_path:
            self.path = Tarpit(target=self.memcached.port).start()
        self.start_app()
        visitor = Visitor(self.url)
        visitor.get("/")
        for number in range(seed_tasks):
            assert visitor.post("/", {"name": f"seed task {number + 1}"}).status == 302
        return self

    def start_app(self, cache=None):
        self.cache = cache or self.cache
        with open(self.log_path, "ab") as log:
            self.app = Gunicorn(self.env(), workers=self.workers).start(stdout=log)
        return self

    def stop_app(self):
        if self.app:
            self.app.stop()
            self.app = None

    def restart_app(self, cache=None):
        self.stop_app()
        return self.start_app(cache)

    def add_servers(self, count):
        """Start `count` more memcached servers and restart the app on all of them."""
        self.servers += [Memcached().start() for _ in range(count)]
        return self.restart_app("memcached")

    def use_path(self, on=True):
        """Reach the first server through a path that can be cut (or directly again); restarts the app."""
        if self.path:
            self.path.stop()
            self.path = None
        if on:
            self.path = Tarpit(target=self.memcached.port).start()
        return self.restart_app()

    def stop(self):
        self.stop_app()
        if self.path:
            self.path.stop()
        for server in self.servers:
            server.stop()
        if self.postgres:
            self.postgres.remove()

    def log_tail(self, lines=30):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def hang(server):
    """Replace a memcached server by a tarpit on its port; returns the tarpit."""
    server.stop()
    return Tarpit(port=server.port).start()


def unhang(server, tarpit):
    tarpit.stop()
    server.start()


# --------------------------------------------------------------------------
# Phases
# --------------------------------------------------------------------------


def run_phase(rig, name, duration, args, fault=None, restore=None, baseline=None, load_options=None):
    """Load for `duration` s; fault and restore are (offset s, action); returns the figures.

    The fault's window starts before its action and ends after the restore's.
    """
    print(f"== {name} ({duration:.0f} s)", flush=True)
    options = {"readers": args.readers, "writers": args.writers, "write_pause": args.write_pause}
    options.update(load_options or {})
    load = Load(rig.url, prefix=name, **options)
    origin = time.monotonic()
    marks = {}

    def at(offset, label, action, when):
        delay = origin + offset - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        if when == "before":
            marks[label] = time.monotonic()
        action()
        if when == "after":
            marks[label] = time.monotonic()
        print(f"   {marks[label] - origin:6.2f} s  {label}", flush=True)

    load.start()
    try:
        if fault:
            at(fault[0], "fault", fault[1], "before")
        if restore:
            at(restore[0], "restored", restore[1], "after")
        at(duration, "end", lambda: None, "before")
    finally:
        load.stop()
    end = time.monotonic()
    records = list(load.records)
    stale = check_reads(records, load.writes)
    summary = lambda part: summarize(part, args.timeout)  # noqa: E731
    result = {
        "phase": name,
        "load": options,
        "duration_s": round(end - origin, 2),
        "events_s": {label: round(moment - origin, 2) for label, moment in marks.items()},
        "total": summary(records),
        "windows": {},
        "acknowledged_writes": sum(1 for w in load.writes if not w.uncertain and w.add),
        "uncertain_writes": sum(1 for w in load.writes if w.uncertain),
        "stale_checked": stale.checked,
        "stale_reads": len(stale.problems),
        "stale_examples": [
            {"t": round(read.started - origin, 2), "task": write.name, "what": what, "x_cache": read.x_cache}
            for read, write, what in stale.problems[:5]
        ],
        "timeline": timeline(records, origin, end),
    }
    if "fault" in marks:
        restored = marks.get("restored", end)
        result["windows"] = {k: summary(v) for k, v in split(records, marks["fault"], restored).items()}
        if "restored" in marks and baseline is not None:
            result["recovery"] = recovery(records, restored, baseline, end)
    total = result["total"]
    print(
        f"   {total['requests']} requests, {total['5xx']} 5xx, {total['errors']} errors, "
        f"p50 {total['p50_ms']} ms, p99 {total['p99_ms']} ms, hit ratio {total['hit_ratio']}, "
        f"stale reads {len(stale.problems)} of {stale.checked} checked"
        + (f", recovery {result['recovery']}" if "recovery" in result else ""),
        flush=True,
    )
    return result


def phase_baseline(rig, args, state):
    result = run_phase(rig, "baseline", state.s(20), args)
    state.baseline = result["total"]["hit_ratio"]
    return result, []


STALE_LOAD = {"readers": 8, "writers": 4, "write_pause": 0.05}


def phase_stale_reads(rig, args, state):
    return run_phase(rig, "stale-reads", state.s(20), args, load_options=STALE_LOAD), []


def phase_stale_reads_file_cache(rig, args, state):
    rig.restart_app("file")
    try:
        return run_phase(rig, "stale-reads-file-cache", state.s(20), args, load_options=STALE_LOAD), []
    finally:
        rig.restart_app("memcached")


def phase_down_at_start(rig, args, state):
    mc = rig.memcached
    rig.stop_app()
    mc.stop()
    rig.start_app()
    result = run_phase(
        rig,
        "memcached-down-at-start",
        state.s(30),
        args,
        fault=(0, lambda: None),
        restore=(state.s(10), mc.start),
        baseline=state.baseline,
    )
    return result, ["no_5xx", "recovers"]


def phase_killed(rig, args, state):
    mc = rig.memcached
    result = run_phase(
        rig,
        "memcached-killed",
        state.s(35),
        args,
        fault=(state.s(8), mc.kill),
        restore=(state.s(18), mc.start),
        baseline=state.baseline,
    )
    return result, ["no_5xx", "recovers"]


def phase_restarted(rig, args, state):
    mc = rig.memcached

    def restart():
        mc.stop()
        mc.start()

    result = run_phase(
        rig,
        "memcached-restarted",
        state.s(25),
        args,
        fault=(state.s(8), restart),
        restore=(state.s(8), lambda: None),
        baseline=state.baseline,
    )
    return result, ["no_5xx", "recovers"]


def phase_hung(rig, args, state):
    mc = rig.memcached
    pit = {}

    def start_hang():
        pit["tarpit"] = hang(mc)

    def stop_hang():
        pit["connections"] = pit["tarpit"].connections()
        unhang(mc, pit["tarpit"])

    result = run_phase(
        rig,
        "memcached-hung",
        state.s(45),
        args,
        fault=(state.s(8), start_hang),
        restore=(state.s(28), stop_hang),
        baseline=state.baseline,
    )
    result["tarpit_connections"] = pit.get("connections")
    return result, ["no_5xx", "recovers", "hung_fast"]


def phase_frozen(rig, args, state):
    mc = rig.memcached
    result = run_phase(
        rig,
        "memcached-frozen",
        state.s(35),
        args,
        fault=(state.s(8), lambda: mc.process.send_signal(signal.SIGSTOP)),
        restore=(state.s(18), lambda: mc.process.send_signal(signal.SIGCONT)),
        baseline=state.baseline,
    )
    return result, ["no_5xx", "recovers"]


def phase_cut_off(rig, args, state):
    rig.use_path()
    try:
        result = run_phase(
            rig,
            "memcached-cut-off",
            state.s(35),
            args,
            fault=(state.s(8), rig.path.cut),
            restore=(state.s(18), rig.path.heal),
            baseline=state.baseline,
        )
    finally:
        rig.use_path(False)
    return result, ["no_5xx", "recovers"]


def phase_postgres_restart(rig, args, state):
    result = run_phase(
        rig,
        "postgres-restart",
        state.s(28),
        args,
        fault=(state.s(8), rig.postgres.stop),
        restore=(state.s(8) + 3, rig.postgres.start),
        baseline=state.baseline,
    )
    return result, ["no_5xx_outside_the_outage", "writes_after"]


def scale_out(rig, args, state, name, tagged):
    """Three servers; stop one that holds a share of the keys (the {tasklist} ones or not)."""
    if len(rig.servers) < 3:
        rig.add_servers(3 - len(rig.servers))
    seen = {}

    def stop_one():
        seen["before"] = server_items(rig.servers)
        holders = [s for s in rig.servers if any(TAGGED in key for key in memcached_keys(s.port))]
        candidates = [s for s in rig.servers if (s in holders) == tagged] or rig.servers
        seen["server"] = victim = candidates[0]
        victim.stop()

    def start_again():
        seen["during"] = server_items(rig.servers)
        seen["server"].start()

    result = run_phase(
        rig,
        name,
        state.s(30),
        args,
        fault=(state.s(10), stop_one),
        restore=(state.s(20), start_again),
        baseline=state.baseline,
    )
    before, during, victim = seen["before"], seen["during"], seen["server"].address
    total_items = sum(items for items, _ in before.values())
    result["servers"] = {
        address: {
            "share_before": share(items, total_items),
            "items_before": items,
            "stopped": address == victim,
            "items_while_one_stopped": during.get(address, (None, None))[0],
            "hits_while_one_stopped": during[address][1] - hits if address in during else None,
        }
        for address, (items, hits) in before.items()
    }
    result["stopped_holds_tagged_keys"] = tagged
    return result, ["no_5xx", "every_server_a_share", "others_keep_their_keys"]


def phase_scale_out(rig, args, state):
    return scale_out(rig, args, state, "scale-out", tagged=False)


def phase_scale_out_tagged(rig, args, state):
    return scale_out(rig, args, state, "scale-out-tagged", tagged=True)


PHASES = {
    "baseline": phase_baseline,
    "stale-reads": phase_stale_reads,
    "stale-reads-file-cache": phase_stale_reads_file_cache,
    "memcached-down-at-start": phase_down_at_start,
    "memcached-killed": phase_killed,
    "memcached-restarted": phase_restarted,
    "memcached-hung": phase_hung,
    "memcached-frozen": phase_frozen,
    "memcached-cut-off": phase_cut_off,
    "postgres-restart": phase_postgres_restart,
    "scale-out": phase_scale_out,
    "scale-out-tagged": phase_scale_out_tagged,
}


# --------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------


def checks(result, extra):
    """[(name, passed, detail)] for one phase: the common checks and `extra`."""
    total, windows = result["total"], result["windows"]
    found = [
        ("no connection errors", total["errors"] == 0, f"{total['errors']} errors"),
        (
            "no stale reads",
            result["stale_reads"] == 0 and result["stale_checked"] > 0,
            f"{result['stale_reads']} stale of {result['stale_checked']} checked",
        ),
    ]
    for name in extra:
        if name == "no_5xx":
            found.append(("no 5xx", total["5xx"] == 0, f"{total['5xx']} 5xx"))
        elif name == "no_5xx_outside_the_outage":
            bad = windows["before"]["5xx"] + windows["after"]["5xx"]
            found.append(("no 5xx before or once the database is back", bad == 0, f"{bad} 5xx"))
        elif name == "writes_after":
            after = windows["after"]
            found.append(
                ("writes succeed once the database is back", after["writes_ok"] > 0, f"{after['writes_ok']} writes")
            )
        elif name == "recovers":
            back = result.get("recovery", {}).get("hit_ratio_back_s")
            found.append(
                (
                    f"hit ratio back within {RECOVERY_LIMIT_SECONDS} s",
                    back is not None and back <= RECOVERY_LIMIT_SECONDS,
                    f"{back} s",
                )
            )
        elif name == "hung_fast":
            during = windows["during"]
            waited = result["tarpit_connections"]
            found.append(("p99 under 1 s while hung", (during["p99_ms"] or 0) < 1000, f"{during['p99_ms']} ms"))
            found.append(
                (
                    "most requests don't wait while hung",
                    waited is not None and waited <= 0.1 * during["requests"],
                    f"{waited} tarpit connections for {during['requests']} requests",
                )
            )
        elif name == "every_server_a_share":
            shares = [s["share_before"] or 0 for s in result["servers"].values()]
            found.append(("every server holds a share", min(shares) > 0, ", ".join(f"{v:.0%}" for v in shares)))
        elif name == "others_keep_their_keys":
            others = [s for s in result["servers"].values() if not s["stopped"]]
            kept = all((s["items_while_one_stopped"] or 0) >= s["items_before"] for s in others)
            used = all((s["hits_while_one_stopped"] or 0) > 0 for s in others)
            found.append(("the other servers keep their keys and hits", kept and used, ""))
    return [{"check": name, "passed": bool(passed), "detail": detail} for name, passed, detail in found]


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------


def versions():
    import django
    import gunicorn

    def first_line(command):
        out = subprocess.run(command, capture_output=True, text=True, timeout=10)
        return (out.stdout or out.stderr).strip().splitlines()[0]

    return {
        "python": sys.version.split()[0],
        "django": django.get_version(),
        "gunicorn": gunicorn.__version__,
        "memcached": first_line([find_program("memcached"), "-V"]),
        "postgresql": first_line([find_program("postgres"), "--version"]),
    }


def fmt(value, unit=""):
    return "–" if value is None else f"{value}{unit}"


def pct(value):
    return "–" if value is None else f"{value * 100:.1f}%"


def markdown(report):
    m, v, c = report["machine"], report["versions"], report["config"]
    lines = [
        "# Fault runs",
        "",
        f"{report['date']} on {m['cpu_model']} ({m['cpus']} cores); Python {v['python']}, Django {v['django']}, "
        f"gunicorn {v['gunicorn']}, {v['memcached']}, {v['postgresql']}.",
        "",
        f"gunicorn with {c['workers']} sync workers; load from {c['readers']} reader and {c['writers']} writer "
        f"threads on the same machine (one connection per request; stale-read phases: "
        f"{STALE_LOAD['readers']} readers, {STALE_LOAD['writers']} writers, {STALE_LOAD['write_pause']} s pause); "
        f"MEMCACHIER_TIMEOUT={c['timeout']} s; {c['seed_tasks']} tasks. Written by `make faults` (bench/faults.py)"
        + (", quick run." if c["quick"] else "."),
        "",
        "## Whole phases",
        "",
        "| phase | requests | 5xx | errors | p50 ms | p99 ms | max ms | > 50 ms | hit ratio | stale reads (checked) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["phases"]:
        t = r["total"]
        lines.append(
            f"| {r['phase']} | {t['requests']} | {t['5xx']} | {t['errors']} | {fmt(t['p50_ms'])} | "
            f"{fmt(t['p99_ms'])} | {fmt(t['max_ms'])} | {pct(t['over_50ms'])} | {fmt(t['hit_ratio'])} | "
            f"{r['stale_reads']} ({r['stale_checked']}) |"
        )
    lines += [
        "",
        "## Before, during and after each fault",
        "",
        "Before: requests finished before the fault began; during: overlapping it; after: started once the "
        f'server was back. "Waited": requests (all, then GETs only) that took at least MEMCACHIER_TIMEOUT '
        f"({c['timeout']} s). A write waits that long once while memcached hangs: its version bump tries the "
        "server even while the worker skips it (config/memcached/backend.py, set_now); reads skip it.",
        "",
        "| phase | window | requests | writes | 5xx | errors | p50 ms | p99 ms | > 50 ms | waited | reads waited "
        "| hit ratio |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["phases"]:
        for name, w in r["windows"].items():
            lines.append(
                f"| {r['phase']} | {name} | {w['requests']} | {w['writes']} | {w['5xx']} | {w['errors']} | "
                f"{fmt(w['p50_ms'])} | {fmt(w['p99_ms'])} | {pct(w['over_50ms'])} | {pct(w['over_timeout'])} | "
                f"{pct(w['reads_over_timeout'])} | {fmt(w['hit_ratio'])} |"
            )
    lines += [
        "",
        "## Recovery once memcached or PostgreSQL is back",
        "",
        "| phase | first page hit after | hit ratio at 90% of baseline after | notes |",
        "|---|---:|---:|---|",
    ]
    for r in report["phases"]:
        if "recovery" not in r:
            continue
        notes = []
        if r.get("tarpit_connections") is not None:
            during = r["windows"]["during"]["requests"]
            notes.append(f"{r['tarpit_connections']} connections to the tarpit for {during} requests while hung")
        if "servers" in r:
            shares = [pct(s["share_before"]) + (" (stopped)" if s["stopped"] else "") for s in r["servers"].values()]
            notes.append(
                "servers' shares of the keys: "
                + ", ".join(shares)
                + ("; the stopped one held the {tasklist} keys" if r["stopped_holds_tagged_keys"] else "")
                + " (the {tasklist} server also keeps a short-lived lock per list version)"
            )
        rec = r["recovery"]
        lines.append(
            f"| {r['phase']} | {fmt(rec['first_hit_s'], ' s')} | {fmt(rec['hit_ratio_back_s'], ' s')} | "
            f"{'; '.join(notes)} |"
        )
    lines += ["", "## Checks", "", "| phase | check | result | detail |", "|---|---|---|---|"]
    for r in report["phases"]:
        for check in r["checks"]:
            verdict = "pass" if check["passed"] else "**FAIL**"
            lines.append(f"| {r['phase']} | {check['check']} | {verdict} | {check['detail']} |")
    lines.append("")
    return "\n".join(lines)


@dataclass
class State:
    scale: float
    baseline: float = None

    def s(self, seconds):
        return seconds * self.scale


def run(args):
    workdir = Path(tempfile.mkdtemp(prefix="tasklist-faults-"))
    state = State(scale=0.4 if args.quick else 1.0)
    results = []
    with Rig(workdir, timeout=args.timeout) as rig:
        rig.start(args.seed_tasks)
        for name in args.phases:
            if state.baseline is None and name != "baseline":
                phase_baseline(rig, args, state)  # the hit ratio recovery is measured against
            result, extra = PHASES[name](rig, args, state)
            result["checks"] = checks(result, extra)
            for check in result["checks"]:
                if not check["passed"]:
                    print(f"   FAIL {check['check']}: {check['detail']}", flush=True)
            results.append(result)
    return results, workdir


def main(argv=None):
    parser = argparse.ArgumentParser(description="Fault runs against the task list under load.")
    parser.add_argument("--quick", action="store_true", help="shorter phases; results in a temp dir")
    parser.add_argument("--phases", default=",".join(PHASES), help="comma-separated, from: " + ", ".join(PHASES))
    parser.add_argument("--readers", type=int, default=4)
    parser.add_argument("--writers", type=int, default=2)
    parser.add_argument("--write-pause", type=float, default=0.25, help="seconds between a writer's rounds")
    parser.add_argument("--seed-tasks", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=0.25, help="MEMCACHIER_TIMEOUT for the app")
    parser.add_argument("--out", help="results folder (default: bench/results, or a temp dir with --quick)")
    args = parser.parse_args(argv)
    args.phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    if any(p not in PHASES for p in args.phases):
        parser.error(f"unknown phase; phases: {', '.join(PHASES)}")
    started = time.monotonic()
    phases, workdir = run(args)
    report = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "versions": versions(),
        "config": {
            "workers": 2,
            "readers": args.readers,
            "writers": args.writers,
            "write_pause_s": args.write_pause,
            "timeout": args.timeout,
            "seed_tasks": args.seed_tasks,
            "quick": args.quick,
            "slow_threshold_ms": SLOW_SECONDS * 1000,
        },
        "wall_time_s": round(time.monotonic() - started, 1),
        "phases": phases,
    }
    out = Path(args.out) if args.out else (workdir if args.quick else RESULTS)
    out.mkdir(parents=True, exist_ok=True)
    (out / "faults.json").write_text(json.dumps(report, indent=1) + "\n")
    (out / "faults.md").write_text(markdown(report))
    failed = [f"{p['phase']}: {c['check']}" for p in phases for c in p["checks"] if not c["passed"]]
    print(f"results in {out / 'faults.json'} and {out / 'faults.md'} ({report['wall_time_s']} s)")
    print(f"gunicorn log: {workdir / 'gunicorn.log'}")
    print(f"{len(failed)} checks failed" + (": " + "; ".join(failed) if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
