"""
Fault runs: the app under load while memcached and PostgreSQL fail.

    make faults                                  # full run, about 7 minutes
    make faults FAULT_ARGS="--quick"             # short phases, results in a temp dir
    make faults FAULT_ARGS="--phases memcached-hung,postgres-restart"

The app runs as in production (gunicorn with 2 workers, config/gunicorn.py)
on its own PostgreSQL and memcached (harness/services.py). A Python load loop
(reader and writer threads, one connection per request) records every
request: when it started and ended, its status and its X-Cache header. Readers GET the list. Writers add a task, read
the page, and delete their tasks older than the last two they added, so tasks
live across the faults.

Phases (PHASES below; each one load run, with at most one fault):

- baseline, stale-reads (more writers, no pause), stale-reads-file-cache (the
  embedded default: no MEMCACHIER_SERVERS, FileBasedCache shared by the workers);
- memcached-down-at-start: the app starts while memcached is stopped;
- memcached-killed: SIGKILL mid-load, started again 10 s later (empty);
- memcached-restarted: SIGTERM and an immediate start (empty);
- memcached-hung: memcached replaced by a tarpit (harness/tarpit.py) on its
  port: connections are accepted, nothing is ever answered;
- memcached-frozen: SIGSTOP then SIGCONT: hung, and back with its old data;
- memcached-cut-off: the network path to memcached drops everything for 10 s
  (a cuttable proxy, harness/tarpit.py), then heals: what was sent meanwhile is
  lost, and memcached is back with its old data;
- postgres-restart: PostgreSQL stopped (fast) and started 3 s later;
- postgres-not-answering: a relay in front of PostgreSQL (harness/tarpit.py)
  closes the connections it relays and holds new ones unanswered for 6 s;
  40 writes sent at once right after, and a read 3 s later;
- scale-out, scale-out-tagged: MEMCACHIER_SERVERS with 3 servers; one holding
  a share of the keys (without, then with, the {tasklist} keys) is stopped.

Requests are split into windows: before (finished before the fault began),
during (overlapping it), after (started once the server was back). Per window:
counts, 5xx, connection errors, latency percentiles, the share over 50 ms and
over MEMCACHIER_TIMEOUT, the page hit ratio; after a fault, how long until the
first page hit and until the hit ratio is back to 90% of the baseline's. Every
read is checked against every acknowledged write (check_reads); a page served
stale while the database can't be reached, saying so (X-Cache: STALE), is
counted apart. Both database phases add a task just before the outage, the
load paused, so that the cached page is out of date throughout. Each phase
has pass/fail checks; the exit status is 1 if any failed.

Results: bench/results/faults.json and faults.md (a temp dir with --quick).

One concern per module: phase.py (one load run with a fault), phases/ (one
module per kind of fault, PHASES in phases/__init__.py), report.py
(faults.md) and run.py (the command). The fault rig they drive is shared
with the short versions in tests/ (test_faults_under_load.py,
test_postgres_restart.py, test_scale_out.py, test_no_stale_reads.py), in
harness/faults/: load.py (the client and the load loop), checks.py (the
stale-read check, the figures and each phase's pass/fail checks) and rig.py
(the servers and the app, and what memcached holds).
"""
