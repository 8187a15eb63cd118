"""One phase of a fault run: load for a while, with at most one fault and its repair."""

import time
from dataclasses import dataclass

from harness.faults.checks import check_reads, recovery, split, summarize, timeline
from harness.faults.load import Load


def run_phase(rig, name, duration, args, fault=None, restore=None, baseline=None, load_options=None):
    """Load for `duration` s; fault and restore are (offset s, action); returns the figures.

    The fault's window starts before its action and ends after the restore's.
    """
    print(f"== {name} ({duration:.0f} s)", flush=True)
    options = {"readers": args.readers, "writers": args.writers, "write_pause": args.write_pause}
    options.update(load_options or {})
    load = Load(rig.url, prefix=name, **options)
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

    load.start()
    try:
        if fault:
            at(fault[0], "fault", fault[1], "before")
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
        "timeline": timeline(records, origin, end),
    }
    if "fault" in marks:
        restored = marks.get("restored", end)
        result["windows"] = {k: summary(v) for k, v in split(records, marks["fault"], restored).items()}
        if "restored" in marks and baseline is not None:
            result["recovery"] = recovery(records, restored, baseline, end)
    total = result["total"]
    print(
        f"   {total['requests']} requests, {total['5xx']} 5xx, {total['errors']} errors, "
        f"p50 {total['p50_ms']} ms, p99 {total['p99_ms']} ms, hit ratio {total['hit_ratio']}, "
        f"stale reads {len(stale.problems)} of {stale.checked} checked"
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
