"""One phase of a fault run: load for a while, with at most one fault and its repair."""

import time
from dataclasses import dataclass

from harness.faults.checks import check_reads, recovery, split, summarize, timeline
from harness.faults.load import Load, Visitor, Write


def run_phase(
    rig,
    name,
    duration,
    args,
    fault=None,
    restore=None,
    baseline=None,
    load_options=None,
    write_first=False,
    after_fault=None,
):
    """Load for `duration` s; fault and restore are (offset s, action); returns the figures.

    The fault's window starts before its action and ends after the restore's.
    write_first: a task is added, and acknowledged, right before the fault's
    action, the load paused from the add to the end of the action: no read
    can bring the cached page up to date in between, so it is out of date
    for the whole outage (what a database outage's stale page is about).
    The fault's window then starts after the add. after_fault() runs right
    after the fault's action, the load going again.
    """
    print(f"== {name} ({duration:.0f} s)", flush=True)
    options = {"readers": args.readers, "writers": args.writers, "write_pause": args.write_pause}
    options.update(load_options or {})
    load = Load(rig.url, prefix=name, **options)
    writer = Visitor(rig.url) if write_first else None
    if writer:
        writer.get("/")  # its CSRF token, before anything breaks
    first = Write(f"{name}-just-before-the-fault")
    paused = {}
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

    def write_then(action):
        def both():
            with load.paused():
                paused["from"] = time.monotonic()
                first.add = writer.post("/", {"name": first.name})
                first.uncertain = first.add.status != 302
                load.writes.append(first)
                marks["fault"] = time.monotonic()
                action()
                paused["to"] = time.monotonic()

        return both

    load.start()
    try:
        if fault and write_first:
            at(fault[0], "fault", write_then(fault[1]), None)
        elif fault:
            at(fault[0], "fault", fault[1], "before")
        if after_fault:
            after_fault()
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
        "stale_served": sum(1 for r in records if r.method == "GET" and r.x_cache == "STALE"),
        "stale_served_missing": len(stale.flagged),
        "timeline": timeline(records, origin, end),
    }
    if write_first:
        result["write_before_fault"] = first.add.status if first.add else None
        # The load's pause for that write and the fault's action: no request was measured meanwhile.
        result["load_paused_ms"] = round((paused["to"] - paused["from"]) * 1000, 1) if paused else None
    if "fault" in marks:
        restored = marks.get("restored", end)
        result["windows"] = {k: summary(v) for k, v in split(records, marks["fault"], restored).items()}
        if "restored" in marks and baseline is not None:
            result["recovery"] = recovery(records, restored, baseline, end)
    total = result["total"]
    print(
        f"   {total['requests']} requests, {total['5xx']} 5xx, {total['errors']} errors, "
        f"p50 {total['p50_ms']} ms, p99 {total['p99_ms']} ms, hit ratio {total['hit_ratio']}, "
        f"stale reads {len(stale.problems)} of {stale.checked} checked, served stale {result['stale_served']}"
        + (f", recovery {result['recovery']}" if "recovery" in result else ""),
        flush=True,
    )
    return result


@dataclass
class State:
    scale: float
    baseline: float = None

    def s(self, seconds):
        return seconds * self.scale
