"""
The embedded default under concurrency: SQLite shared by runserver and
gunicorn, as on a developer's machine, waits for a contended write instead
of answering "database is locked" with a 500 (config/settings.py).

An admin save reads the task, then writes it, in one transaction. With
SQLite's default (deferred) transactions, two of them deadlock: one holds a
read lock and wants to write while the other writes and waits for readers
to finish, and SQLite fails one at once, whatever the busy timeout.
"""

import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from harness.services import Gunicorn, Runserver
from harness.visitor import TOKEN, Visitor

ROOT = Path(__file__).resolve().parent.parent
EDITORS = 45

# Logged-in admin sessions and a task for each, made directly: 45 password
# checks would take longer than the saves.
SET_UP = f"""
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
from tasks.models import Task
staff = get_user_model().objects.create_superuser("staff", "s@example.com", "password")
for number in range({EDITORS}):
    session = SessionStore()
    session.update({{SESSION_KEY: str(staff.pk), BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
                     HASH_SESSION_KEY: staff.get_session_auth_hash()}})
    session.create()
    print(session.session_key, Task.objects.create(name=f"task {{number}}").pk)
"""


@pytest.fixture
def embedded_default(tmp_path):
    """runserver and gunicorn (2 workers) on one SQLite file and one file cache."""
    env = {k: v for k, v in os.environ.items() if k != "MEMCACHIER_SERVERS"}
    env |= {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "FILE_CACHE_DIR": str(tmp_path / "cache"),
        "HTTPS_ONLY": "0",
    }

    def manage(*command, **options):
        return subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True, **options)

    manage("migrate", "-v0")
    made = manage("shell", "--no-imports", "-c", SET_UP, capture_output=True, text=True).stdout.split()
    editors = list(zip(made[::2], made[1::2], strict=True))
    servers = [Gunicorn(env), Runserver(env)]
    try:
        yield [server.start().url for server in servers], editors, tmp_path / "db.sqlite3"
    finally:
        for server in servers:
            server.stop()


def test_concurrent_admin_saves_wait_for_each_other_and_never_500(embedded_default):
    urls, editors, database = embedded_default
    statuses = []
    start = threading.Barrier(len(editors))

    def edit(number, session_key, task_id):
        visitor = Visitor(urls[number % 2])
        visitor.cookies["sessionid"] = session_key
        change = f"/admin/tasks/task/{task_id}/change/"
        start.wait()  # all 45 at once, as the review sent them
        form = visitor.get(change)
        statuses.append(form.status)
        token = TOKEN.search(form.text)
        if token:
            saved = visitor.request("POST", change, {"name": f"edited {number}", "csrfmiddlewaretoken": token.group(1)})
            statuses.append(saved.status)

    threads = [threading.Thread(target=edit, args=(number, *editor)) for number, editor in enumerate(editors)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200] * EDITORS + [302] * EDITORS
    with sqlite3.connect(database) as connection:
        (edited,) = connection.execute("SELECT count(*) FROM tasks_task WHERE name LIKE 'edited %'").fetchone()
    assert edited == EDITORS
