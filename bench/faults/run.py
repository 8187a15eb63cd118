"""The fault runs' command: python -m bench.faults [--quick] [--phases ...]."""

import argparse
import datetime
import json
import runpy
import tempfile
import time
from pathlib import Path

from bench.about import machine, versions
from bench.faults.phase import State
from bench.faults.phases import PHASES, phase_baseline
from bench.faults.report import markdown
from harness.faults.checks import SLOW_SECONDS, checks
from harness.faults.rig import ROOT, Rig

RESULTS = ROOT / "bench" / "results"


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
            "worker_class": runpy.run_path(str(ROOT / "config" / "gunicorn.py"))["worker_class"],
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
