"""PostgreSQL restarted: writes get a 503 meanwhile, reads come from the cache, and the app reconnects by itself.

A task is added and acknowledged just before PostgreSQL stops (run_phase's
write_first), so the page cached before is out of date for the whole
outage: what is measured is the app serving it stale, saying so.
"""

from bench.faults.phase import run_phase
from harness.faults.checks import DATABASE_DOWN


def phase_postgres_restart(rig, args, state):
    result = run_phase(
        rig,
        "postgres-restart",
        state.s(28),
        args,
        fault=(state.s(8), rig.postgres.stop),
        restore=(state.s(8) + 3, rig.postgres.start),
        baseline=state.baseline,
        write_first=True,
    )
    return result, DATABASE_DOWN
