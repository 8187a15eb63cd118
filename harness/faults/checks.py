"""
What a fault run found: no read missing an acknowledged write (check_reads),
the figures of each window (summarize), recovery times, and each phase's
pass/fail checks.

A page served stale (X-Cache: STALE) says so to its visitor: while the
database can't be reached, the app may serve the cached page of an older
version of the list, with a notice. Such a read missing a write is counted
apart (flagged); a stale read is one that misses a write and doesn't say so.
"""

import bisect
from dataclasses import dataclass, field

from harness.faults.load import first_hit

SLOW_SECONDS = 0.05
# Recovered "within seconds": memcachier_cache skips a failed server for 5 s.
RECOVERY_LIMIT_SECONDS = 10
# While the database can't be reached, what the cache can answer is answered
# at once: a page served stale, or a 503 that says why (issue 22).
STALE_P50_LIMIT_MS = 20
STALE_P99_LIMIT_MS = 100
REFUSED_P99_LIMIT_MS = 100
# A read behind a crowd of writes to a database that doesn't answer.
BURST_READ_LIMIT_MS = 1000
# The checks of a database outage's phases (bench/faults/phases/postgres_*.py).
DATABASE_DOWN = [
    "write_before_outage",
    "no_5xx_outside_the_outage",
    "no_500",
    "no_get_503",
    "writes_during_503",
    "writes_after",
    "stale_served_fast",
    "refused_fast",
]


@dataclass
class StaleCheck:
    checked: int = 0  # (read, acknowledged write) pairs the read had to reflect
    problems: list = field(default_factory=list)  # (read, write, what), the read unflagged
    flagged: list = field(default_factory=list)  # the same, the read served stale and saying so


def check_reads(records, writes):
    """Every read that started after a write was acknowledged must show it.

    A read that started after a task's creation was acknowledged, and ended
    before its deletion was sent, must show the task; a read that started
    after its deletion was acknowledged must not. Writes with no clear answer
    are left out. Task names are unique and need no HTML escaping. A read
    served stale (X-Cache: STALE) that misses a write is flagged, not a
    problem.
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
                        found(check, read, write, "missing an added task")
        if write.delete:
            for read in reads[bisect.bisect_right(starts, write.delete.finished) :]:
                check.checked += 1
                if write.name in read.names:
                    found(check, read, write, "showing a deleted task")
    return check


def found(check, read, write, what):
    (check.flagged if read.x_cache == "STALE" else check.problems).append((read, write, what))


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
    stale = sorted(r.latency for r in records if r.method == "GET" and r.x_cache == "STALE")
    refused = sorted(r.latency for r in records if r.status == 503)
    ms = lambda value: None if value is None else round(value * 1000, 1)  # noqa: E731
    return {
        "requests": len(records),
        "ok": sum(1 for r in records if 200 <= r.status < 400),
        "4xx": sum(1 for r in records if 400 <= r.status < 500),
        "5xx": sum(1 for r in records if r.status >= 500),
        # 503: refused on purpose, saying why (the database down); any other
        # 5xx is an error.
        "503": sum(1 for r in records if r.status == 503),
        "writes_503": sum(1 for r in records if r.method == "POST" and r.status == 503),
        "reads_503": sum(1 for r in records if r.method == "GET" and r.status == 503),
        "503_p99_ms": ms(percentile(refused, 0.99)),
        # Pages served stale, saying so (X-Cache: STALE): not hits.
        "stale_served": len(stale),
        "stale_p50_ms": ms(percentile(stale, 0.50)),
        "stale_p99_ms": ms(percentile(stale, 0.99)),
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


def checks(result, extra):
    """[(name, passed, detail)] for one phase: the common checks and `extra`."""
    total, windows = result["total"], result["windows"]
    served = result.get("stale_served", 0)
    found = [
        ("no connection errors", total["errors"] == 0, f"{total['errors']} errors"),
        (
            "no stale reads",
            result["stale_reads"] == 0 and result["stale_checked"] > 0,
            f"{result['stale_reads']} stale of {result['stale_checked']} checked"
            + (f"; {served} served stale, flagged" if served else ""),
        ),
    ]
    for name in extra:
        found += database_down_checks(result, name)
        if name == "no_5xx":
            found.append(("no 5xx", total["5xx"] == 0, f"{total['5xx']} 5xx"))
        elif name == "no_5xx_outside_the_outage":
            bad = windows["before"]["5xx"] + windows["after"]["5xx"]
            found.append(("no 5xx before or once the database is back", bad == 0, f"{bad} 5xx"))
        elif name == "no_500":
            errors = total["5xx"] - total["503"]
            found.append(("no 5xx but 503 (the database down, said so)", errors == 0, f"{errors} other 5xx"))
        elif name == "writes_during_503":
            during = windows["during"]
            found.append(
                (
                    "writes during the outage get a 503",
                    during["writes_503"] > 0 and during["5xx"] == during["503"],
                    f"{during['writes_503']} of {during['writes']} writes",
                )
            )
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


def database_down_checks(result, name):
    """[(name, passed, detail)] of one of the checks only the database phases have."""
    total, during = result["total"], result["windows"].get("during")
    if name == "write_before_outage":
        status = result.get("write_before_fault")
        return [("a write acknowledged just before the outage", status == 302, f"status {status}")]
    if name == "no_get_503":
        # Every page was cached before the outage, in an older version at least.
        return [("no 503 for a page the cache held", total["reads_503"] == 0, f"{total['reads_503']} GETs got a 503")]
    if name == "stale_served_fast":
        p50, p99 = during["stale_p50_ms"], during["stale_p99_ms"]
        fast = p50 is not None and p50 < STALE_P50_LIMIT_MS and p99 < STALE_P99_LIMIT_MS
        return [
            (
                f"reads served stale during the outage: p50 < {STALE_P50_LIMIT_MS} ms, p99 < {STALE_P99_LIMIT_MS} ms",
                fast,
                f"{during['stale_served']} served stale; p50 {p50} ms, p99 {p99} ms",
            )
        ]
    if name == "refused_fast":
        p99 = during["503_p99_ms"]
        return [
            (
                f"503s during the outage: p99 < {REFUSED_P99_LIMIT_MS} ms",
                p99 is None or p99 < REFUSED_P99_LIMIT_MS,
                f"{during['503']} 503s; p99 {p99} ms",
            )
        ]
    if name == "burst":
        burst = result["burst"]
        read_ms = burst["read_ms"]
        return [
            (
                f"{burst['writes']} writes at once while it doesn't answer: each gets a 503",
                burst["writes_503"] == burst["writes"],
                f"{burst['writes_503']} got a 503; statuses {burst['statuses']}",
            ),
            (
                f"a read {burst['read_after_s']} s after them: answered within {BURST_READ_LIMIT_MS} ms",
                read_ms is not None and burst["read_status"] == 200 and read_ms <= BURST_READ_LIMIT_MS,
                f"{read_ms} ms, status {burst['read_status']}, X-Cache {burst['read_x_cache'] or '–'}",
            ),
        ]
    return []
