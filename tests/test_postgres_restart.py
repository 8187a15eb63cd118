"""
PostgreSQL restarts under load: the app reconnects by itself.

No 5xx from a second after the database is back, writes go through again,
and no read misses an acknowledged write unless it says it may (a stale
page, flagged). While it is down, writes get a 503 that says so (they can't
be stored anywhere; test_database_outage.py) and every read is a page from
the cache. Never a 500.
The app runs under gunicorn with 2 workers on a PostgreSQL of its own, which
this test stops and starts; `make faults` has the longer version
(postgres-restart), with counts for the outage itself.
"""

import time

from harness.faults.checks import check_reads
from harness.faults.load import Load
from harness.faults.rig import Rig


def test_the_app_reconnects_by_itself_after_postgresql_restarts(tmp_path):
    with Rig(tmp_path) as rig:
        rig.start(seed_tasks=5)
        with Load(rig.url) as load:
            load.wait_for_writes(2)
            down = time.monotonic()  # before: requests fail while it shuts down
            rig.postgres.stop()
            load.wait_for_requests(100, since=down)
            rig.postgres.start()
            # Each worker finds the database again with its next probe
            # (ConnectionGate, every 0.25 s): until then its requests get
            # the 503 or a stale page at once. A second is four probes.
            back = time.monotonic() + 1
            load.wait_for_writes(5, since=back)
            load.wait_for_requests(200, since=back)
        records = list(load.records)
        assert not [r for r in records if r.status == 0], rig.log_tail()
        assert not [r for r in records if r.status >= 500 and r.status != 503], rig.log_tail()
        # Reads are served from the cache throughout, stale ones flagged.
        assert not [r for r in records if r.method == "GET" and r.status != 200], rig.log_tail()
        before = [r for r in records if r.finished < down]
        after = load.since(back)
        assert not [r for r in before + after if r.status >= 500], rig.log_tail()
        assert sum(1 for r in after if r.method == "POST" and r.status == 302) >= 5
        stale = check_reads(records, load.writes)
        assert stale.checked > 0
        assert not stale.problems, stale.problems[0]
