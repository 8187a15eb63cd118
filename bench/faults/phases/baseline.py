"""Baseline: the load with nothing broken; its hit ratio is what recovery is measured against."""

from bench.faults.phase import run_phase


def phase_baseline(rig, args, state):
    result = run_phase(rig, "baseline", state.s(20), args)
    state.baseline = result["total"]["hit_ratio"]
    return result, []
