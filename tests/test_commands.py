"""manage.py clear_cache and cache_stats, on memcached and on the embedded default."""

import os
import subprocess
import sys
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import call_command

from tasks import keys
from tasks.models import Task
from tasks.pages import NEWEST, load_rows

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_clear_cache_clears_this_apps_keys_and_says_so(client):
    Task.objects.create(name="a")
    Task.objects.create(name="b")
    client.get("/")
    cache.set("someone-elses-key", 1)
    output = run("clear_cache")
    # version, rows, page, rebuild lock, list fragment, 2 row fragments
    assert "Cleared the task list cache: 7 of 7 keys were present" in output
    assert cache.get_many([keys.LIST_VERSION, *keys.page_keys(load_rows(NEWEST), None, NEWEST)]) == {}
    assert cache.get("someone-elses-key") == 1
    assert client.get("/")["X-Cache"] == "MISS"


def test_clear_cache_all_flushes_everything():
    cache.set("someone-elses-key", 1)
    assert "Cleared the whole cache." in run("clear_cache", "--all")
    assert cache.get("someone-elses-key") is None


def test_cache_stats_reports_memcached_counters(client):
    client.get("/")
    client.get("/")
    output = run("cache_stats")
    server = os.environ["MEMCACHIER_SERVERS"]
    assert f"memcached {server}" in output
    for label in ("hits", "misses", "hit ratio", "items", "bytes", "evictions", "uptime (s)"):
        assert f"  {label}" in output
    stats = cache.server_stats()[server]
    assert f"  hits         {stats['get_hits']}\n" in output
    # (items is not compared: memcached reclaims expired items at any time)


def manage(*args, env):
    return subprocess.run([sys.executable, "manage.py", *args], env=env, capture_output=True, text=True, timeout=60)


def test_both_commands_work_on_the_embedded_default(tmp_path):
    env = {**os.environ, "FILE_CACHE_DIR": str(tmp_path / "cache"), "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3"}
    env.pop("MEMCACHIER_SERVERS")
    assert manage("migrate", "-v0", env=env).returncode == 0
    stats = manage("cache_stats", env=env)
    assert stats.returncode == 0, stats.stderr
    assert "file cache (embedded default)" in stats.stdout
    cleared = manage("clear_cache", env=env)
    assert cleared.returncode == 0, cleared.stderr
    assert "Cleared the task list cache" in cleared.stdout
