"""
The load benchmark: what each caching layer buys, every mode in one run.

    make bench                       # the full run, about 20 minutes on 2 cores
    make bench BENCH_ARGS=--quick    # the smoke run CI does, about a minute
    python -m bench.report           # tables and plots again from results.json

It starts a real PostgreSQL and memcached (harness/services.py), the app under
gunicorn exactly as the Procfile does (config/gunicorn.py), seeds N tasks
straight into the database and drives the app with wrk from another process
on loopback. The parts, each in a module of its own:

- bench/modes.py: for each mode (which cache layers are on) and N, warm
  reads, mixed load (1 write per 100 reads, real CSRF-protected POSTs), the
  first page after one task changed, and warm reads one at a time (exact
  counts); with memcached on loopback, then behind harness/delay_proxy.py
  (harness/delay.py: a 1 ms round trip, like a hosted memcache); and the
  ceiling, a constant Django view through the app's middleware, serving a
  body as big as the task page;
- bench/peers/: the app's page hit at 100 tasks beside two peers on the
  same servers, in alternating rounds: the guide's Flask app in its final
  state, and a minimal Django site with cache_page (--no-peers skips them);
- bench/costs.py: in process, what the HMAC on every cached value costs, and
  where a page hit's time goes.

Counts per request come from the servers themselves (bench/counting.py):
SQL statements from pg_stat_statements, keys got and set from memcached's
`stats`, round trips to memcached from the delay proxy (so only in the
delayed runs; the code path is the same on loopback).

Output in bench/results/ (a temp dir for --quick, so that a smoke run never
replaces the full run the docs link to): results.json, results.md (tables
and the targets, bench/report.py) and PNG plots (bench/plots.py).
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

from bench import costs
from bench.about import machine, versions
from bench.counting import Counters
from bench.load import GUNICORN_CONFIG, WORKERS
from bench.modes import CEILINGS, MODES, bench_mode
from bench.peers import phase as peers
from harness.data import seed
from harness.delay import calibrated_proxy
from harness.services import Memcached, Postgres, find_program

ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY = "bench-only-key-not-secret-0123456789abcdefghijklmnopqrstuvwxyz"
RESULTS = ROOT / "bench" / "results"


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", default="10,100,1000,10000,100000", help="task counts, comma-separated")
    parser.add_argument("--modes", default=",".join(MODES), help="cache modes, comma-separated")
    parser.add_argument("--duration", type=int, default=6, help="seconds per measured wrk run")
    parser.add_argument("--warmup", type=int, default=1, help="seconds of unmeasured load first")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=15, help="GETs timed one at a time, per scenario")
    parser.add_argument("--write-every", type=int, default=100, help="reads per write, mixed load")
    parser.add_argument("--rtt-ms", type=float, default=1.0, help="memcached round trip, delayed runs")
    parser.add_argument("--out", type=Path, help="results folder (default: bench/results, a temp dir with --quick)")
    parser.add_argument(
        "--peers", action=argparse.BooleanOptionalAction, default=True, help="the peers phase (bench/peers/)"
    )
    parser.add_argument("--peer-rounds", type=int, default=5, help="alternating rounds of the peers phase")
    parser.add_argument("--peer-duration", type=int, default=3, help="seconds per wrk run of the peers phase")
    parser.add_argument("--quick", action="store_true", help="smoke run: 10 tasks, 1 s per run")
    args = parser.parse_args(argv)
    if args.quick:
        # Shorter defaults; options given explicitly still win.
        parser.set_defaults(tasks="10", duration=1, warmup=1, repeats=3, peer_rounds=2, peer_duration=1)
        args = parser.parse_args(argv)
    # bench/results holds the full run the docs link to: a smoke run must
    # not replace it.
    if args.out is None:
        args.out = Path(tempfile.mkdtemp(prefix="bench-quick-")) if args.quick else RESULTS
    args.tasks = [int(n) for n in args.tasks.split(",")]
    args.modes = args.modes.split(",")
    unknown = set(args.modes) - set(MODES)
    if unknown:
        parser.error(f"unknown modes: {sorted(unknown)}")
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if not find_program("wrk"):
        sys.exit("wrk is missing: apt-get install wrk (or `make bench`, which installs it)")
    if args.peers:
        peers.check_venv()
    started = time.monotonic()
    results, page_sizes = [], {}
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit(),
        "machine": machine(),
        "settings": {
            "gunicorn_workers": WORKERS,
            "worker_class": GUNICORN_CONFIG["worker_class"],
            "threads": GUNICORN_CONFIG.get("threads", 1),
            "wrk_threads": args.threads,
            "wrk_connections": args.connections,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "after_change_repeats": args.repeats,
            "write_every": args.write_every,
            "tasks": args.tasks,
            "modes": args.modes,
            "quick": args.quick,
            "peers": args.peers,
        },
        "labels": {**{mode: label for mode, (label, _) in MODES.items()}, **CEILINGS, **peers.LABELS},
        "versions": versions(),
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
        services = (postgres, memcached, proxy, report["proxy"])
        # "page" first: its page sizes set the ceilings' body sizes.
        for mode in sorted(args.modes, key=lambda m: m != "page"):
            for delayed in (False, True):
                bench_mode(mode, delayed, services, counters, args, results, page_sizes)
        if args.peers:
            report["peers"] = peers.run(services, counters, args)
        report["costs"], report["profile"], report["pagination"] = [], [], []
        for count in args.tasks:
            seed(count)
            report["pagination"].append(costs.pagination(count))
            report["costs"].append(costs.signing(count))
            report["profile"].append(costs.hit_profile(count, page_sizes[count]))
    report["runs"] = results
    report["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    report["duration_s"] = round(time.monotonic() - started)

    from bench import report as reporting

    reporting.write(report, args.out)
    print(f"results in {args.out} after {report['duration_s']} s", flush=True)
    return 0


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


def commit():
    """The commit measured, and whether the working tree differed from it."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True
    )
    return head.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip() else "")


if __name__ == "__main__":
    sys.exit(main())
