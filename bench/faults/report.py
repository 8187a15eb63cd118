"""faults.md, from a fault run's results."""

from harness.faults.checks import (
    BURST_READ_LIMIT_MS,
    REFUSED_P99_LIMIT_MS,
    STALE_P50_LIMIT_MS,
    STALE_P99_LIMIT_MS,
)
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
        'A stale read misses an acknowledged write without saying so; "served stale" counts the pages the '
        "app served from an older version of the list while the database could not be reached, saying so "
        "(X-Cache: STALE, and a notice on the page).",
        "",
        "| phase | requests | 5xx (503) | errors | p50 ms | p99 ms | max ms | > 50 ms | hit ratio "
        "| stale reads (checked) | served stale |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["phases"]:
        t = r["total"]
        lines.append(
            f"| {r['phase']} | {t['requests']} | {t['5xx']} ({t.get('503', 0)}) | {t['errors']} | "
            f"{fmt(t['p50_ms'])} | "
            f"{fmt(t['p99_ms'])} | {fmt(t['max_ms'])} | {pct(t['over_50ms'])} | {fmt(t['hit_ratio'])} | "
            f"{r['stale_reads']} ({r['stale_checked']}) | {r.get('stale_served', 0)} |"
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
        "| hit ratio | served stale |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["phases"]:
        for name, w in r["windows"].items():
            lines.append(
                f"| {r['phase']} | {name} | {w['requests']} | {w['writes']} | {w['5xx']} | {w['errors']} | "
                f"{fmt(w['p50_ms'])} | {fmt(w['p99_ms'])} | {pct(w['over_50ms'])} | {pct(w['over_timeout'])} | "
                f"{pct(w['reads_over_timeout'])} | {fmt(w['hit_ratio'])} | {fmt(w.get('stale_served'))} |"
            )
    lines += database_down(report["phases"])
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
        if r.get("database_connections_while_unanswered") is not None:
            n = r["database_connections_while_unanswered"]
            notes.append(f"{n} connections to the database host while it did not answer")
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


def database_down(phases):
    """The database phases' own table: the outage window's stale pages and 503s, and the burst."""
    rows = [r for r in phases if "write_before_fault" in r]
    if not rows:
        return []
    lines = [
        "",
        "## While the database can't be reached",
        "",
        "A task is added and acknowledged just before the outage, the load paused from that write to the end of "
        "the fault's action (in brackets: for how long; nothing was measured meanwhile), so the page cached "
        "before is out of date for the whole outage. Figures of the during window: pages served stale "
        f"(target p50 < {STALE_P50_LIMIT_MS} ms, p99 < {STALE_P99_LIMIT_MS} ms), GETs refused (target: none, "
        f"every page was cached), 503s (target p99 < {REFUSED_P99_LIMIT_MS} ms). postgres-not-answering also "
        "sends 40 writes at once right after the host stops answering, and reads a page 3 s later (target: each "
        f"write a 503, the read answered within {BURST_READ_LIMIT_MS} ms).",
        "",
        "| phase | write just before (load paused) | served stale | stale p50 ms | stale p99 ms | GETs 503 | 503s "
        "| 503 p99 ms | 40 writes at once | read 3 s later |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        w = r["windows"].get("during", {})
        burst = r.get("burst")
        writes = read = "–"
        if burst:
            writes = (
                f"{burst['writes_503']} got a 503 ({burst['statuses']}), "
                f"{burst['answered_before_healed']} before the host was back; "
                f"slowest {fmt(burst['slowest_write_ms'])} ms"
            )
            read = f"{fmt(burst['read_ms'])} ms, {burst['read_status']} {burst['read_x_cache'] or ''}".rstrip()
        lines.append(
            f"| {r['phase']} | {fmt(r['write_before_fault'])} ({fmt(r.get('load_paused_ms'), ' ms')}) | "
            f"{fmt(w.get('stale_served'))} | "
            f"{fmt(w.get('stale_p50_ms'))} | {fmt(w.get('stale_p99_ms'))} | {fmt(w.get('reads_503'))} | "
            f"{fmt(w.get('503'))} | {fmt(w.get('503_p99_ms'))} | {writes} | {read} |"
        )
    return lines
