"""Picking runs out of the load benchmark's results: for bench/report.py and bench/plots.py."""

# Cheapest to most cached, after the ceiling.
MODE_ORDER = ["constant", "none", "query", "fragments", "page"]
SCENARIOS = {
    "warm": "Warm reads",
    "single": "Warm reads, one request at a time (exact counts)",
    "mixed": "Mixed load: 1 write per {write_every} reads",
    "after_change": "First page after one task changed",
}


def delayed(run):
    # Ceilings don't use memcached and only run on loopback.
    return run["rtt_ms"] > 0


def runs_of(report, scenario, is_delayed=None, mode=None, tasks=None, **fields):
    found = [
        run
        for run in report["runs"]
        if run["scenario"] == scenario
        and (is_delayed is None or delayed(run) == is_delayed)
        and (mode is None or run["mode"] == mode)
        and (tasks is None or run["tasks"] == tasks)
        and all(run.get(name) == value for name, value in fields.items())
    ]
    return sorted(found, key=lambda run: (run["tasks"], MODE_ORDER.index(run["mode"])))


def one(report, scenario, is_delayed, mode, tasks):
    found = runs_of(report, scenario, is_delayed, mode, tasks)
    return found[0] if found else None


def nearest_tasks(report, wanted):
    """The task count measured closest to `wanted` (quick runs only do 10)."""
    counts = report["settings"]["tasks"]
    return min(counts, key=lambda n: abs(n - wanted))
