"""The fault phases, one module per kind of fault, in the order a full run takes them."""

from bench.faults.phases.baseline import phase_baseline
from bench.faults.phases.memcached_cut_off import phase_cut_off
from bench.faults.phases.memcached_down import phase_down_at_start, phase_killed, phase_restarted
from bench.faults.phases.memcached_hung import phase_frozen, phase_hung
from bench.faults.phases.postgres_not_answering import phase_postgres_not_answering
from bench.faults.phases.postgres_restart import phase_postgres_restart
from bench.faults.phases.scale_out import phase_scale_out, phase_scale_out_tagged
from bench.faults.phases.stale_reads import phase_stale_reads, phase_stale_reads_file_cache

PHASES = {
    "baseline": phase_baseline,
    "stale-reads": phase_stale_reads,
    "stale-reads-file-cache": phase_stale_reads_file_cache,
    "memcached-down-at-start": phase_down_at_start,
    "memcached-killed": phase_killed,
    "memcached-restarted": phase_restarted,
    "memcached-hung": phase_hung,
    "memcached-frozen": phase_frozen,
    "memcached-cut-off": phase_cut_off,
    "postgres-restart": phase_postgres_restart,
    "postgres-not-answering": phase_postgres_not_answering,
    "scale-out": phase_scale_out,
    "scale-out-tagged": phase_scale_out_tagged,
}
