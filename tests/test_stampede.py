"""When the cached list is gone and requests pile in, the database is asked once."""

import threading

import pytest
from django.db import connections

from memcachier_cache import MemCachierCache
from tasks import queries
from tasks.models import Task
from tasks.pages import NEWEST

pytestmark = pytest.mark.django_db(transaction=True)

READERS = 12


def test_concurrent_misses_query_the_database_once(monkeypatch):
    Task.objects.create(name="a")
    all_waiting = threading.Event()
    losers = []
    loads = []
    original_add = MemCachierCache.add
    original_load = queries.load_rows

    def add(self, key, *args, **kwargs):
        won = original_add(self, key, *args, **kwargs)
        if not won and "rows-lock" in key:
            losers.append(key)
            if len(losers) == READERS - 1:
                all_waiting.set()
        return won

    def load(cursor):
        loads.append(threading.get_ident())
        # The winner holds the lock until every other reader has failed to
        # take it: the worst case, made deterministic.
        assert all_waiting.wait(timeout=30)
        return original_load(cursor)

    # Each thread has its own cache connection: spy on the class.
    monkeypatch.setattr(MemCachierCache, "add", add)
    monkeypatch.setattr(queries, "load_rows", load)
    results = [None] * READERS
    start = threading.Barrier(READERS)

    def read(i):
        start.wait()
        try:
            results[i] = queries.get_page_rows(NEWEST)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=read, args=(i,)) for i in range(READERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(loads) == 1
    assert all([t["name"] for t in result] == ["a"] for result in results)
