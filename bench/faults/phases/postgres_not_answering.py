"""PostgreSQL's host stops answering for a few seconds, then answers again.

A relay between the app and PostgreSQL (harness/tarpit.py) closes the
connections it relays, as a failover ends them, and then holds every new
one without a word: a connection attempt is never refused, it waits for the
app's own connect timeout. This is what a database that can't be reached
costs at worst, where postgres-restart's refusals are cheap.

As in postgres-restart, a task is added and acknowledged just before (the
cached page is out of date for the whole outage). Right after the host stops
answering, 40 writes are sent at once, each from an address of its own, and
a page is read 3 s later: a crowd waiting on the database must not hold up
a read the cache can answer.
"""

import time
from collections import Counter

from bench.faults.phase import run_phase
from harness.faults.checks import DATABASE_DOWN
from harness.faults.load import Burst

OUTAGE_SECONDS = 6  # the connect timeout (2 s), the burst's read 3 s later, and a margin
BURST_WRITES = 40
BURST_READ_AFTER_SECONDS = 3.0


def phase_postgres_not_answering(rig, args, state):
    rig.use_database_relay()
    try:
        relay = rig.database_relay
        burst = Burst(rig.url, BURST_WRITES, BURST_READ_AFTER_SECONDS, prefix="postgres-not-answering-burst").prepare()
        attempts = {}

        def stop_answering():
            attempts["before"] = relay.connections()
            relay.stop_answering()

        def heal():
            attempts["while_unanswered"] = relay.connections() - attempts["before"]
            attempts["healed"] = time.monotonic()
            relay.heal()

        result = run_phase(
            rig,
            "postgres-not-answering",
            state.s(22) + OUTAGE_SECONDS,
            args,
            fault=(state.s(8), stop_answering),
            after_fault=burst.start,
            restore=(state.s(8) + OUTAGE_SECONDS, heal),
            baseline=state.baseline,
            write_first=True,
        )
        burst.join()
    finally:
        rig.use_database_relay(False)
    writes = [w for w in burst.writes if w is not None]
    result["database_connections_while_unanswered"] = attempts.get("while_unanswered")
    result["burst"] = {
        "writes": BURST_WRITES,
        "writes_503": sum(1 for w in writes if w.status == 503),
        "statuses": ", ".join(f"{status}: {n}" for status, n in sorted(Counter(w.status for w in writes).items())),
        "slowest_write_ms": round(max(w.latency for w in writes) * 1000, 1) if writes else None,
        "answered_before_healed": sum(1 for w in writes if w.finished < attempts.get("healed", float("inf"))),
        "read_after_s": BURST_READ_AFTER_SECONDS,
        "read_ms": round(burst.read.latency * 1000, 1) if burst.read else None,
        "read_status": burst.read.status if burst.read else None,
        "read_x_cache": burst.read.x_cache if burst.read else None,
    }
    print(
        f"   {BURST_WRITES} writes at once: {result['burst']['statuses']}; "
        f"read {BURST_READ_AFTER_SECONDS} s later: {result['burst']['read_ms']} ms, "
        f"{result['burst']['read_status']} {result['burst']['read_x_cache']}; "
        f"{attempts.get('while_unanswered')} connections to the database while it did not answer",
        flush=True,
    )
    return result, [*DATABASE_DOWN, "burst"]
