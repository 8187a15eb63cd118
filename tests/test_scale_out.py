"""
Scale-out: MEMCACHIER_SERVERS with 3 servers shards the keys by consistent
hashing, and losing one server loses only its share.

The app runs under gunicorn with 2 workers on 3 memcached servers of its
own. What each server holds is read from the server itself (`stats`,
`lru_crawler metadump` at rest, and a meta get per key under load). The task list's own keys (version, rows, page)
share the {tasklist} hash tag and live on one server; each row fragment is
hashed on its own. `make faults` has the longer version (scale-out,
scale-out-tagged).
"""

import time

import pytest

from harness.faults.checks import check_reads
from harness.faults.load import Load, Visitor, first_hit
from harness.faults.rig import TAGGED, memcached_holds, memcached_keys, server_items

pytestmark = pytest.mark.django_db(transaction=True)

SEED_TASKS = 30


def warm(rig):
    visitor = Visitor(rig.url)
    for _ in range(2):
        assert visitor.get("/").status == 200
    return {server: memcached_keys(server.port) for server in rig.servers}


def test_every_server_holds_a_share_of_the_keys_and_no_key_is_on_two(rig):
    rig = rig(memcached=3, seed_tasks=SEED_TASKS)
    held = warm(rig)
    items = {address: count for address, (count, _) in server_items(rig.servers).items()}
    assert all(count > 0 for count in items.values()), items
    every_key = [key for keys in held.values() for key in keys]
    assert len(every_key) == len(set(every_key)) >= SEED_TASKS  # sharded, not replicated
    assert sum(1 for keys in held.values() if any(TAGGED in key for key in keys)) == 1


@pytest.mark.parametrize("tagged", [False, True], ids=["a server with rows only", "the server with the list's keys"])
def test_stopping_one_server_loses_only_its_share_and_causes_no_error(rig, tagged):
    rig = rig(memcached=3, seed_tasks=SEED_TASKS)
    held = warm(rig)
    holds_tag = {server: any(TAGGED in key for key in keys) for server, keys in held.items()}
    stopped = next(server for server in rig.servers if holds_tag[server] == tagged and held[server])
    others = [server for server in rig.servers if server is not stopped]
    with Load(rig.url) as load:
        load.wait_for_hit(since=0)
        before = server_items(others)
        stopped.stop()
        gone = time.monotonic()
        load.wait_for_requests(300, since=gone)
        load.wait_for_writes(2, since=gone)
        after = server_items(others)

    records = list(load.records)
    failed = [r for r in records if r.status >= 500 or r.status == 0]
    assert not failed, f"{len(failed)} failed, e.g. {failed[0]}\n{rig.log_tail()}"
    stale = check_reads(records, load.writes)
    assert stale.checked > 0 and not stale.problems
    for server in others:
        # Its keys are all still there (none moved to it or away from it)...
        rows = {key for key in held[server] if "rows-lock" not in key}  # locks expire by design
        assert memcached_holds(server.port, rows) == rows
        # ...and still used: its hit count went on growing.
        assert after[server.address][1] > before[server.address][1]
    if not tagged:
        # The page and version live elsewhere: the page cache kept hitting.
        assert first_hit(load.since(gone)) is not None
