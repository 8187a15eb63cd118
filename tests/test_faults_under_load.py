"""
memcached fails under load, the app keeps serving: no 5xx, no stale read,
and the page cache works again once memcached is back.

The app runs under gunicorn with 2 workers on memcached of its own, with
reader and writer threads (harness/faults/load.py's Load) sending requests all
along. These are the short versions of `make faults`, which runs each fault
for longer and reports the latencies; here every wait is for a number of
requests, and the assertions are on counts.
"""

import time

import pytest

from harness.faults.checks import check_reads
from harness.faults.load import Load
from harness.faults.rig import hang, unhang

pytestmark = pytest.mark.django_db(transaction=True)


def assert_served_everything(load, rig):
    """No 5xx, no request left unanswered, no read missing an acknowledged write."""
    records = list(load.records)
    failed = [r for r in records if r.status >= 500 or r.status == 0]
    assert not failed, f"{len(failed)} of {len(records)} failed, e.g. {failed[0]}\n{rig.log_tail()}"
    stale = check_reads(records, load.writes)
    assert stale.checked > 0
    assert not stale.problems, f"{len(stale.problems)} stale reads, e.g. {stale.problems[0]}"


@pytest.mark.parametrize("fault", ["stopped before the app starts", "killed", "restarted"])
def test_memcached_down_costs_no_error_and_the_page_cache_comes_back(rig, fault):
    rig = rig(seed_tasks=5, memcached_running=fault != "stopped before the app starts")
    memcached = rig.memcached
    with Load(rig.url) as load:
        if fault == "stopped before the app starts":
            load.wait_for_requests(100)
            memcached.start()
        else:
            load.wait_for_hit(since=0)
            if fault == "killed":
                memcached.kill()
                load.wait_for_requests(100, since=time.monotonic())  # served without memcached
            else:
                memcached.stop()
            memcached.start()
        back = time.monotonic()
        load.wait_for_hit(since=back, timeout=30)
        load.wait_for_writes(2, since=back)
    assert_served_everything(load, rig)


def test_a_hung_memcached_is_skipped_not_waited_for_on_every_request(rig):
    """memcached accepts connections and never answers (a tarpit on its port).

    Each worker waits for it once (MEMCACHIER_TIMEOUT), then skips it for a
    few seconds; each write tries it once more, to invalidate. So the tarpit
    sees a handful of connections while hundreds of requests are served.
    """
    rig = rig(seed_tasks=5)
    with Load(rig.url, readers=4, writers=1) as load:
        load.wait_for_hit(since=0)
        tarpit = hang(rig.memcached)
        try:
            hung = time.monotonic()
            load.wait_until(lambda: tarpit.connections() > 0, what="connection to the tarpit")
            load.wait_for_requests(400, since=hung)
            connections = tarpit.connections()
            during = load.since(hung)
        finally:
            unhang(rig.memcached, tarpit)
        back = time.monotonic()
        load.wait_for_hit(since=back, timeout=30)
    assert_served_everything(load, rig)
    # Most requests never waited: at most one in ten even tried memcached.
    assert connections <= len(during) / 10, f"{connections} connections for {len(during)} requests"
    assert sum(1 for r in during if r.method == "POST" and r.status == 302) > 0  # writes went on
