"""PostgreSQL restarted: writes get a 503 meanwhile, reads come from the cache, and the app reconnects by itself."""

from bench.faults.phase import run_phase


def phase_postgres_restart(rig, args, state):
    result = run_phase(
        rig,
        "postgres-restart",
        state.s(28),
        args,
        fault=(state.s(8), rig.postgres.stop),
        restore=(state.s(8) + 3, rig.postgres.start),
        baseline=state.baseline,
    )
    return result, ["no_5xx_outside_the_outage", "no_500", "writes_during_503", "writes_after"]
