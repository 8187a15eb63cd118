"""
No stale data: every read that starts after a write was acknowledged shows it.

Writers add tasks and delete them, readers read the list, all at once,
against gunicorn with 2 workers: a write handled by one worker must show in
what the other serves from the shared cache. harness/faults/checks.py's check_reads
compares every read with every acknowledged write. With memcached and with
the embedded default (a file cache shared by the workers); and across a
memcached that was cut off while a task was added and another deleted, then
came back with its old data.
"""

import time

import pytest

from harness.faults.checks import check_reads
from harness.faults.load import STALE_LOAD, Load, Visitor, Write

pytestmark = pytest.mark.django_db(transaction=True)


def assert_no_stale_reads(records, writes):
    stale = check_reads(records, writes)
    assert stale.checked > 0
    assert not stale.problems, f"{len(stale.problems)} stale reads, e.g. {stale.problems[0]}"


@pytest.mark.parametrize("memcached", [1, 0], ids=["memcached", "embedded file cache"])
def test_concurrent_writers_and_readers_never_read_stale_data(rig, memcached):
    rig = rig(memcached=memcached, seed_tasks=5)
    with Load(rig.url, **STALE_LOAD) as load:  # 4 writers, 8 readers
        load.wait_for_writes(60)
        load.wait_for_hit(since=0, count=20)  # pages came from the shared cache too
    records = list(load.records)
    assert not [r for r in records if r.status >= 500 or r.status == 0], rig.log_tail()
    assert_no_stale_reads(records, load.writes)


def test_writes_made_while_memcached_was_cut_off_show_once_it_is_back(rig):
    """memcached keeps the old list; the version bumps of the writes were lost.

    The worker that wrote, and the one that found memcached unusable while
    serving reads, owe it a new version (tasks/list_version.py): no one reads the
    old list once it is back.
    """
    rig = rig(seed_tasks=3, path=True)
    writer = Visitor(rig.url)
    seeded = {name: task_id for task_id, name in writer.get("/").tasks.items()}
    added, deleted = Write("added while cut off"), Write("seed task 1")
    with Load(rig.url, readers=4, writers=0) as load:
        load.wait_for_hit(since=0)
        rig.path.cut()
        load.wait_for_requests(50, since=time.monotonic())
        added.add = writer.post("/", {"name": added.name})
        deleted.delete = writer.post(f"/{seeded[deleted.name]}/delete")
        assert added.add.status == deleted.delete.status == 302
        rig.path.heal()
        healed = time.monotonic()
        load.wait_for_hit(since=healed, timeout=30)
        load.wait_for_requests(200, since=healed)
    assert not [r for r in load.records if r.status >= 500 or r.status == 0], rig.log_tail()
    assert_no_stale_reads(load.records, [added, deleted])
