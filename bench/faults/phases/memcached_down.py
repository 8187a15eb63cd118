"""memcached down: stopped before the app starts, killed mid-load, restarted (empty)."""

from bench.faults.phase import run_phase


def phase_down_at_start(rig, args, state):
    mc = rig.memcached
    rig.stop_app()
    mc.stop()
    rig.start_app()
    result = run_phase(
        rig,
        "memcached-down-at-start",
        state.s(30),
        args,
        fault=(0, lambda: None),
        restore=(state.s(10), mc.start),
        baseline=state.baseline,
    )
    return result, ["no_5xx", "recovers"]


def phase_killed(rig, args, state):
    mc = rig.memcached
    result = run_phase(
        rig,
        "memcached-killed",
        state.s(35),
        args,
        fault=(state.s(8), mc.kill),
        restore=(state.s(18), mc.start),
        baseline=state.baseline,
    )
    return result, ["no_5xx", "recovers"]


def phase_restarted(rig, args, state):
    mc = rig.memcached

    def restart():
        mc.stop()
        mc.start()

    result = run_phase(
        rig,
        "memcached-restarted",
        state.s(25),
        args,
        fault=(state.s(8), restart),
        restore=(state.s(8), lambda: None),
        baseline=state.baseline,
    )
    return result, ["no_5xx", "recovers"]
