"""faults.md, from a fault run's results."""

from harness.faults.load import STALE_LOAD


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
        f"gunicorn with {c['workers']} {c.get('worker_class', 'sync')} workers; "
        f"load from {c['readers']} reader and {c['writers']} writer "
        f"threads on the same machine (one connection per request; stale-read phases: "
        f"{STALE_LOAD['readers']} readers, {STALE_LOAD['writers']} writers, {STALE_LOAD['write_pause']} s pause); "
        f"MEMCACHIER_TIMEOUT={c['timeout']} s; {c['seed_tasks']} tasks. Written by `make faults` (bench/faults/)"
        + (", quick run." if c["quick"] else "."),
        "",
        "## Whole phases",
        "",
        "| phase | requests | 5xx (503) | errors | p50 ms | p99 ms | max ms | > 50 ms | hit ratio "
        "| stale reads (checked) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["phases"]:
        t = r["total"]
        lines.append(
            f"| {r['phase']} | {t['requests']} | {t['5xx']} ({t.get('503', 0)}) | {t['errors']} | "
            f"{fmt(t['p50_ms'])} | "
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
        "server even while the worker skips it (memcachier_cache/cache.py, set_now); reads skip it.",
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
