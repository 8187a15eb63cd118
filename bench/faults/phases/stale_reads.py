"""Stale reads: more writers and no pause, on memcached and on the embedded file cache."""

from bench.faults.phase import run_phase
from harness.faults.load import STALE_LOAD


def phase_stale_reads(rig, args, state):
    return run_phase(rig, "stale-reads", state.s(20), args, load_options=STALE_LOAD), []


def phase_stale_reads_file_cache(rig, args, state):
    rig.restart_app("file")
    try:
        return run_phase(rig, "stale-reads-file-cache", state.s(20), args, load_options=STALE_LOAD), []
    finally:
        rig.restart_app("memcached")
