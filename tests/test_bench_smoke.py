"""
The load benchmark's smoke run (bench/run.py --quick, no-cache and full-page
modes): the harness works end to end, and the counts per request that the
caching is about hold, as PostgreSQL, memcached and the delay proxy count
them. Nothing here asserts a time or a rate: those belong to `make bench`.

The benchmark starts its own PostgreSQL, memcached and gunicorn, and runs in
a subprocess because it sets up Django on its own database.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Page mode, after one edit: get_many(version, page), list fragment get,
# get_many(version, rows), lock add, row fragments get_many; the sets after
# them are quiet and wait for nothing. A fixed number, not one per row.
REBUILD_ROUND_TRIPS = 5


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    # Without the peers (bench/peers/): they need .venv-peers, which only
    # `make bench` builds (pylibmc compiles from source).
    command = [sys.executable, "-m", "bench.run", "--quick", "--modes", "none,page", "--tasks", "20", "--no-peers"]
    done = subprocess.run(
        [*command, "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return out, json.loads((out / "results.json").read_text())


def runs(report, scenario, mode, delayed):
    found = [
        run
        for run in report["runs"]
        if run["scenario"] == scenario and run["mode"] == mode and (run["rtt_ms"] > 0) == delayed
    ]
    assert found, (scenario, mode, delayed)
    return found


def test_harness_writes_json_markdown_and_plots(bench):
    out, report = bench
    for name in ("warm_rps.png", "mixed_rps.png", "after_change.png"):
        assert (out / name).read_bytes().startswith(b"\x89PNG"), name
    markdown = (out / "results.md").read_text()
    assert "## Targets" in markdown and "## Warm reads, loopback" in markdown
    # The delay proxy really added about the round trip it was asked for.
    assert 0.8 <= report["proxy"]["rtt_added_ms"] <= 1.5
    # What the HMAC on every cached value costs, measured in process.
    assert "## What authenticating every cached value costs" in markdown
    (cost,) = report["costs"]
    assert 0 < cost["page_hmac_us"] < cost["page_load_us"] < cost["hit_in_process_us"]
    scenarios = {(run["scenario"], run["mode"]) for run in report["runs"]}
    assert {("warm", "constant"), ("mixed", "page"), ("after_change", "none")} <= scenarios


def test_every_response_was_a_success(bench):
    _, report = bench
    for run in report["runs"]:
        assert run["non_2xx_3xx"] == 0, run
        assert run.get("errors", 0) == 0, run


@pytest.mark.parametrize("delayed", [False, True])
def test_full_page_hit_costs_no_sql_and_one_get_many(bench, delayed):
    _, report = bench
    # One request at a time: exact counts.
    (hit,) = runs(report, "single", "page", delayed)
    assert hit["x_cache"] == ["HIT"]
    assert hit["sql"] == 0
    assert hit["keys_got"] == 2  # the list version and the page
    assert hit["keys_set"] == 0
    if delayed:
        assert hit["round_trips"] == 1
    # Under wrk: totals over the run divided by the requests wrk sent. A few
    # sent requests may go unserved when wrk stops, never extra ones.
    (warm,) = runs(report, "warm", "page", delayed)
    assert warm["x_cache"] == "HIT"
    assert warm["sql"] == 0
    assert 0 < warm["keys_got"] <= 2
    if delayed:
        assert 0 < warm["round_trips"] <= 1


@pytest.mark.parametrize("scenario", ["warm", "single"])
def test_no_cache_mode_queries_every_time_and_never_touches_memcached(bench, scenario):
    _, report = bench
    for delayed in (False, True):
        (run,) = runs(report, scenario, "none", delayed)
        assert run["sql"] > 0.9  # the list query (and Django's health check)
        assert run["keys_got"] == run["keys_set"] == 0
        if delayed:
            assert run["round_trips"] == 0


def test_first_page_after_a_change_takes_a_fixed_number_of_round_trips(bench):
    _, report = bench
    (run,) = runs(report, "after_change", "page", delayed=True)
    assert run["x_cache"] == ["MISS"]
    assert run["sql"] > 0  # the list is read again, once
    assert run["round_trips"] <= REBUILD_ROUND_TRIPS < run["tasks"]  # not one per row
