"""
Tables of the load benchmark, and the issues' targets, from its results.

    python -m bench.report [bench/results/results.json]

bench/run.py calls write() at the end of a run. Running this module redraws
results.md and the plots (bench/plots.py) next to a results.json without
running the load again (after changing a table or a plot, say).
"""

import json
import statistics
import sys
from pathlib import Path

from bench.plots import PLOTS, plot
from bench.selection import SCENARIOS, delayed, median_of, median_rps, nearest_tasks, one, runs_of

RESULTS = Path(__file__).resolve().parent / "results"

# Scenarios of requests timed and counted one at a time, not under wrk.
ONE_AT_A_TIME = {"single", "after_change"}
COMPARED_TASKS = 100
# The page of 100 tasks before one form held the whole list (2026-11-24 run).
PAGE_OF_100_BEFORE = 46_036


def write(report, out):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(report, indent=1) + "\n")
    render(report, out)


def render(report, out):
    (out / "results.md").write_text(markdown(report))
    plot(report, out)


def number(value, digits=0):
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def header(report):
    m, v, s, p = report["machine"], report["versions"], report["settings"], report["proxy"]
    lines = [
        f"Measured {report['date']} on {m['cpus']} x {m['cpu_model']}, {m['memory_gb']} GB RAM, "
        f"Linux {m['kernel']} (load average {m['load_average_at_start'][0]} at start, "
        f"{m['load_average_at_end'][0]} at end), in {report['duration_s']} s.",
        f"Commit {report.get('commit', '?')}. Python {v['python']}, Django {v['django']}, gunicorn {v['gunicorn']} "
        f"({s['gunicorn_workers']} {s['worker_class']} workers, {s['threads']} threads each: config/gunicorn.py), "
        f"PostgreSQL {v['postgresql']}, "
        f"memcached {v['memcached']}, wrk {v.get('wrk', '?')} ({s['wrk_threads']} threads, "
        f"{s['wrk_connections']} connections, {s['duration_s']} s per run after {s['warmup_s']} s warm-up).",
        f"Delayed runs: memcached behind bench/delay_proxy.py, {p['rtt_added_ms']} ms added per round trip "
        f"(asked {p['rtt_asked_ms']} ms; loopback alone {p['rtt_loopback_ms']} ms).",
        "SQL counts every statement PostgreSQL ran (pg_stat_statements), including the `SELECT 1` "
        "health check Django runs once per request that uses the database (CONN_HEALTH_CHECKS). "
        "Keys got and set are memcached's own counts (a get_many of 2 keys counts 2); round trips "
        "are counted by the delay proxy, so only in delayed runs. Under wrk, counts are totals "
        "divided by the requests wrk sent; the one or two it had not yet written when it stopped "
        "make the slowest modes read a little low (1.9 for 2). The one-at-a-time tables are exact.",
    ]
    if s.get("quick"):
        lines.append("**Quick smoke run: too short to compare throughput; only the counts mean something.**")
    return "\n".join(lines)


def load_table(report, runs, is_delayed):
    columns = ["Mode", "Tasks", "req/s", "p50 ms", "p99 ms", "bytes/resp", "SQL/req", "keys got/req", "keys set/req"]
    if is_delayed:
        columns.append("round trips/req")
    columns.append("errors")
    rows = []
    for run in runs:
        row = [
            report["labels"][run["mode"]],
            number(run["tasks"]),
            number(run["rps"]),
            number(run["p50_ms"], 2),
            number(run["p99_ms"], 2),
            number(run["bytes_per_response"]),
            number(run["sql"], 2),
            number(run["keys_got"], 2),
            number(run["keys_set"], 2),
        ]
        if is_delayed:
            row.append(number(run["round_trips"], 2))
        row.append(number(run["errors"] + run["non_2xx_3xx"]))
        rows.append(row)
    return table(columns, rows)


def one_at_a_time_table(report, runs, is_delayed):
    columns = ["Mode", "Tasks", "median ms", "min ms", "max ms", "SQL/req", "keys got/req", "keys set/req"]
    if is_delayed:
        columns.append("round trips/req")
    rows = []
    for run in runs:
        row = [
            report["labels"][run["mode"]],
            number(run["tasks"]),
            number(run["median_ms"], 2),
            number(run["min_ms"], 2),
            number(run["max_ms"], 2),
            number(run["sql"], 1),
            number(run["keys_got"], 1),
            number(run["keys_set"], 1),
        ]
        if is_delayed:
            row.append(number(run["round_trips"], 1))
        rows.append(row)
    return table(columns, rows)


def table(columns, rows):
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def targets(report):
    """The issues' targets, each as (issue, text, passed), from this run's data."""
    found = []
    n = nearest_tasks(report, COMPARED_TASKS)
    page = one(report, "warm", False, "page", n)
    if page:
        share = page["body_bytes"] / PAGE_OF_100_BEFORE
        found.append(
            (
                14,
                f"Page of {n} tasks: {page['body_bytes']:,} bytes, {share:.0%} of the {PAGE_OF_100_BEFORE:,} of "
                "100 tasks before; target at most 60%",
                share <= 0.6 and n == COMPARED_TASKS,
            )
        )
    hit, ceiling = (median_rps(runs_of(report, "ceiling_share", mode=name)) for name in ("page", "constant"))
    if hit and ceiling:
        share = hit / ceiling
        n = report["settings"]["compare_tasks"]
        for issue, wanted in ((14, 0.7), (4, 0.8)):
            found.append(
                (
                    issue,
                    f"Page hit at {n} tasks: {share:.0%} of the constant Django view's req/s "
                    f"({hit:,.0f} vs {ceiling:,.0f}, medians of alternating rounds); target at least {wanted:.0%}",
                    share >= wanted,
                )
            )
    # Exact counts: hits served one at a time, each counted alone.
    hits = runs_of(report, "single", mode="page")
    if hits:
        sql = max(run["sql"] for run in hits)
        trips = [run["round_trips"] for run in hits if delayed(run)]
        worst = max(trips) if trips else None
        found.append(
            (
                4,
                f"Page hit, every N: {sql:g} SQL statements and {number(worst, 0)} memcached round trip "
                f"({max(run['keys_got'] for run in hits):g} keys got in it); target 0 SQL and at most 1 round trip",
                sql == 0 and worst is not None and worst <= 1,
            )
        )
    n = nearest_tasks(report, 1000)
    rebuild = one(report, "after_change", True, "page", n)
    if rebuild:
        loopback = one(report, "after_change", False, "page", n)
        text = (
            f"Page of {n} tasks rebuilt after one edit, memcached {report['proxy']['rtt_added_ms']:.2f} ms away: "
            f"{rebuild['round_trips']:.1f} round trips ({rebuild['median_ms']:.1f} ms median"
            + (f", {loopback['median_ms']:.1f} ms on loopback" if loopback else "")
            + ")"
        )
        found.append((14, text + "; target at most 5", rebuild["round_trips"] <= 5))
        found.append((4, text + "; target at most 3", rebuild["round_trips"] <= 3))
    model = report["settings"]["worker_class"]
    away = runs_of(report, "workers", True, "page", worker_class=model)
    loopback, relayed = runs_of(report, "workers", False, "page", worker_class=model), relay_runs(report, model)
    if away and loopback and relayed:
        far, near, relay = median_rps(away), median_rps(loopback), median_rps(relayed)
        found.append(
            (
                14,
                f"Page hits at {report['settings']['compare_tasks']} tasks with memcached 1 ms away ({model} "
                f"workers): {far / relay:.0%} of the same server with memcached behind the same proxy adding no "
                f"delay ({far:,.0f} vs {relay:,.0f} req/s, medians of alternating rounds): what the 1 ms costs. "
                f"Against direct loopback ({near:,.0f} req/s): {far / near:.0%}. The proxy itself used "
                f"{median_of(relayed, 'proxy_cpu_us'):.0f} µs of the app's CPU per request adding no delay, "
                f"{median_of(away, 'proxy_cpu_us'):.0f} µs adding 1 ms; target at least 80%",
                far / relay >= 0.8,
            )
        )
    ratios = server_timing_ratios(report)
    profile = next((p for p in report.get("profile", []) if p["tasks"] == report["settings"]["compare_tasks"]), None)
    if ratios and profile and "hit_without_server_timing_us" in profile:
        change = statistics.median(ratios) - 1
        cost = profile["hit_us"] - profile["hit_without_server_timing_us"]
        share = cost / profile["hit_us"]
        found.append(
            (
                13,
                f"Server-Timing moves the page-hit figure by {change:+.1%} under wrk (median of {len(ratios)} rounds, "
                f"one server, each round with it next to one without); in process a hit takes "
                f"{profile['hit_us']:.0f} µs with it and {profile['hit_without_server_timing_us']:.0f} without "
                f"({share:+.1%}); target a cost under 5%",
                abs(change) < 0.05 and share < 0.05,
            )
        )
    far_medians = {
        model: median_rps(runs_of(report, "workers", True, "page", worker_class=model)) for model in ("sync", "gthread")
    }
    if all(far_medians.values()):
        winner = max(far_medians, key=far_medians.get)
        configured = report["settings"]["worker_class"]
        found.append(
            (
                12,
                f"Worker model: with memcached 1 ms away, page hits at {report['settings']['compare_tasks']} tasks "
                f"reach {far_medians['gthread']:,.0f} req/s with gthread and {far_medians['sync']:,.0f} with sync "
                f"(medians); config/gunicorn.py uses {configured}, the winner is {winner}",
                winner == configured,
            )
        )
    return found


def relay_runs(report, model, mode="page"):
    """The configured model's rounds with memcached behind the proxy adding no delay (bench/worker_models.py)."""
    return runs_of(report, "relay", None, mode, worker_class=model)


def workers_rounds(report, where, mode, model):
    if where == "relay":
        return relay_runs(report, model, mode)
    return runs_of(report, "workers", where == "away", mode, worker_class=model)


def gthread_round(run):
    """req/s of a round, with how its connections were spread over the workers (8+8, 13+3)."""
    split = run.get("connections_per_worker")
    return number(run["rps"]) + (f" ({'+'.join(map(str, split))})" if split else "")


def workers_table(report):
    places = {
        "loopback": "loopback",
        "relay": "loopback, through the proxy adding no delay",
        "away": f"{report['proxy']['rtt_added_ms']:.2f} ms away",
    }
    rows = []
    for mode in ("page", "fragments"):
        for where, label in places.items():
            rounds = {model: workers_rounds(report, where, mode, model) for model in ("sync", "gthread")}
            if not any(rounds.values()):
                continue
            medians = {model: median_rps(runs) for model, runs in rounds.items()}
            rows.append(
                [
                    report["labels"][mode],
                    label,
                    number(medians["sync"]),
                    number(medians["gthread"]),
                    f"{medians['gthread'] / medians['sync']:.2f}" if all(medians.values()) else "-",
                    ", ".join(number(run["rps"]) for run in rounds["sync"]) or "-",
                    ", ".join(gthread_round(run) for run in rounds["gthread"]) or "-",
                ]
            )
    columns = [
        "Mode",
        "memcached",
        "sync req/s",
        "gthread req/s",
        "gthread / sync",
        "sync rounds",
        "gthread rounds (wrk's connections per worker)",
    ]
    return table(columns, rows)


def server_timing_rounds(report):
    """[(round, req/s with Server-Timing, req/s without)]: one server, the two runs of a round next in time."""
    rounds = {}
    for run in runs_of(report, "server_timing"):
        rounds.setdefault(run["round"], {})[run["server_timing"]] = run["rps"]
    return [(n, both["on"], both["off"]) for n, both in sorted(rounds.items()) if len(both) == 2]


def server_timing_ratios(report):
    return [on / off for _, on, off in server_timing_rounds(report)]


def server_timing_table(report):
    rounds = server_timing_rounds(report)
    rows = [[str(n + 1), number(on), number(off), f"{on / off - 1:+.1%}"] for n, on, off in rounds]
    return (
        table(["round", "with Server-Timing (req/s)", "without (req/s)", "change"], rows)
        + f"\n\nMedian change: {statistics.median(server_timing_ratios(report)) - 1:+.1%}."
    )


def side_by_side_table(report, scenario, contenders):
    """Medians and rounds of a side-by-side comparison; contenders: {label: fields}."""
    runs = {label: runs_of(report, scenario, **fields) for label, fields in contenders.items()}
    if not all(runs.values()):
        return ""
    rows = [
        [label, number(median_rps(found)), ", ".join(number(run["rps"]) for run in found)]
        for label, found in runs.items()
    ]
    first, second = (median_rps(found) for found in runs.values())
    return table(["", "req/s (median)", "rounds"], rows) + f"\n\nRatio: {first / second:.2f}."


def signing_table(costs):
    """bench/costs.py's figures: the HMAC of config/memcached/values.py, in process."""
    rows = [
        [
            f"{c['tasks']:,}",
            f"{c['page_stored_bytes']:,}",
            number(c["page_hmac_us"], 1),
            number(c["page_load_us"], 1),
            number(c["hit_in_process_us"], 0),
            f"{c['page_hmac_us'] / c['hit_in_process_us']:.1%}",
            number(c["rows_hmac_us"], 0),
        ]
        for c in costs
    ]
    columns = [
        "tasks",
        "page as stored (bytes)",
        "HMAC check of a new page (µs)",
        "load of a new page: HMAC, unzip (µs)",
        "page hit in process (µs)",
        "HMAC of a new page / a hit",
        "HMAC of every row, rebuild (µs)",
    ]
    return table(columns, rows)


def profile_tables(profiles):
    """bench/costs.py's hit profile: the hit against the constant view, and where its time goes."""
    totals = table(
        ["tasks", "page hit (µs)", "constant view, same bytes (µs)", "hit / constant"],
        [
            [f"{p['tasks']:,}", number(p["hit_us"]), number(p["constant_us"]), f"{p['hit_us'] / p['constant_us']:.2f}"]
            for p in profiles
        ],
    )
    n = min(profiles, key=lambda p: abs(p["tasks"] - COMPARED_TASKS))
    parts = table(
        ["Part of a page hit (cumulative: parts may nest)", "share", "µs"],
        [[part["part"], f"{part['share']:.1%}", number(part["share"] * n["hit_us"], 0)] for part in n["parts"]],
    )
    found = [
        totals,
        f"Where a page hit's time goes, at {n['tasks']:,} tasks (cProfile, {n['hit_us']:.0f} µs a hit):",
        parts,
    ]
    if "hit_without_server_timing_us" in n:
        cost = n["hit_us"] - n["hit_without_server_timing_us"]
        found.append(
            f"The same hit without the Server-Timing middleware: {n['hit_without_server_timing_us']:.0f} µs "
            f"(best of alternating runs): a difference of {cost:+.1f} µs, {cost / n['hit_us']:+.1%} of a hit."
        )
    return found


def markdown(report):
    parts = [
        header(report),
        "## Targets",
        "\n".join(
            f"- **{'PASS' if passed else 'MISSED'}** (issue {issue}): {text}."
            for issue, text, passed in targets(report)
        ),
    ]
    for scenario, title in SCENARIOS.items():
        title = title.format(write_every=report["settings"]["write_every"])
        for is_delayed in (False, True):
            runs = runs_of(report, scenario, is_delayed)
            if not runs:
                continue
            where = f"memcached {report['proxy']['rtt_added_ms']:.2f} ms away" if is_delayed else "loopback"
            parts.append(f"## {title}, {where}")
            if scenario in ONE_AT_A_TIME:
                parts.append(one_at_a_time_table(report, runs, is_delayed))
            else:
                parts.append(load_table(report, runs, is_delayed))
    if runs_of(report, "workers"):
        parts += [
            f"## Worker models: sync and gthread, {report['settings']['compare_tasks']} tasks, "
            f"{report['settings']['gunicorn_workers']} workers ({report['settings']['rounds']} alternating rounds)",
            workers_table(report),
        ]
    if runs_of(report, "ceiling_share"):
        parts += [
            f"## A page hit against the constant Django view, side by side ({report['settings']['compare_tasks']} "
            "tasks, loopback)",
            side_by_side_table(
                report, "ceiling_share", {"page hit": {"mode": "page"}, "constant view": {"mode": "constant"}}
            ),
        ]
    if runs_of(report, "server_timing"):
        parts += [
            "## What Server-Timing costs a page hit (loopback, one server, with and without it in turns)",
            server_timing_table(report),
        ]
    if report.get("costs"):
        parts += ["## What authenticating every cached value costs (in process)", signing_table(report["costs"])]
    if report.get("profile"):
        parts += ["## A page hit against the constant view (in process)", *profile_tables(report["profile"])]
    parts += [
        f"![{SCENARIOS[scenario]}]({name})".format(write_every=report["settings"]["write_every"])
        for name, (scenario, _, _) in PLOTS.items()
    ]
    return "\n\n".join(parts) + "\n"


def main(argv):
    path = Path(argv[0]) if argv else RESULTS / "results.json"
    render(json.loads(path.read_text()), path.parent)
    print(f"wrote {path.parent / 'results.md'} and {', '.join(PLOTS)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
