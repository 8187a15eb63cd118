"""memcached cut off: the network path drops everything for a while, then heals; memcached kept its data."""

from bench.faults.phase import run_phase


def phase_cut_off(rig, args, state):
    rig.use_path()
    try:
        result = run_phase(
            rig,
            "memcached-cut-off",
            state.s(35),
            args,
            fault=(state.s(8), rig.path.cut),
            restore=(state.s(18), rig.path.heal),
            baseline=state.baseline,
        )
    finally:
        rig.use_path(False)
    return result, ["no_5xx", "recovers"]
