"""memcached hung: a tarpit on its port (accepts, never answers), or frozen with SIGSTOP (keeps its data)."""

import signal

from bench.faults.phase import run_phase
from harness.faults.rig import hang, unhang


def phase_hung(rig, args, state):
    mc = rig.memcached
    pit = {}

    def start_hang():
        pit["tarpit"] = hang(mc)

    def stop_hang():
        pit["connections"] = pit["tarpit"].connections()
        unhang(mc, pit["tarpit"])

    result = run_phase(
        rig,
        "memcached-hung",
        state.s(45),
        args,
        fault=(state.s(8), start_hang),
        restore=(state.s(28), stop_hang),
        baseline=state.baseline,
    )
    result["tarpit_connections"] = pit.get("connections")
    return result, ["no_5xx", "recovers", "hung_fast"]


def phase_frozen(rig, args, state):
    mc = rig.memcached
    result = run_phase(
        rig,
        "memcached-frozen",
        state.s(35),
        args,
        fault=(state.s(8), lambda: mc.process.send_signal(signal.SIGSTOP)),
        restore=(state.s(18), lambda: mc.process.send_signal(signal.SIGCONT)),
        baseline=state.baseline,
    )
    return result, ["no_5xx", "recovers"]
