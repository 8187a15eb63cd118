"""
What a fault run found: no read missing an acknowledged write (check_reads),
the figures of each window (summarize), recovery times, and each phase's
pass/fail checks.
"""

import bisect
from dataclasses import dataclass, field

from harness.faults.load import first_hit

SLOW_SECONDS = 0.05
# Recovered "within seconds": memcachier_cache skips a failed server for 5 s.
RECOVERY_LIMIT_SECONDS = 10


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
        # 503: refused on purpose, saying why (the database down); any other
        # 5xx is an error.
        "503": sum(1 for r in records if r.status == 503),
        "writes_503": sum(1 for r in records if r.method == "POST" and r.status == 503),
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
