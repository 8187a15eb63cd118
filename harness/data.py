"""Tasks for the benchmark and the fault runs: Django in this process, on their database, to seed and edit tasks."""

import io
from datetime import UTC, datetime, timedelta

# Task names of realistic length, numbered so that no two rows are alike.
CHORES = [
    "Buy milk and bread",
    "Call the plumber about the kitchen sink",
    "Renew the car insurance",
    "Write the quarterly report",
    "Book a dentist appointment",
    "Water the plants on the balcony",
    "Reply to Alice about the offsite",
    "Fix the flaky test in CI",
]


def seed(count):
    """count tasks straight into PostgreSQL (COPY): ids 1..count, oldest first."""
    from django.core.cache import cache
    from django.db import connection

    start = datetime.now(UTC) - timedelta(days=1)
    rows = io.StringIO()
    for i in range(count):
        created = (start + timedelta(milliseconds=i)).isoformat()
        rows.write(f"{CHORES[i % len(CHORES)]} #{i + 1}\t{created}\t{created}\n")
    rows.seek(0)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE tasks_task RESTART IDENTITY")
        cursor.copy_expert("COPY tasks_task (name, created_at, updated_at) FROM STDIN", rows)
        cursor.execute("ANALYZE tasks_task")
    # Raw SQL sends no signal, so nothing invalidated the old list: start
    # from an empty memcached (its stats counters keep going).
    cache.clear()


def edit_one_task(count, n):
    """Rename the middle task through the model layer: the list version
    moves after commit, exactly as for an edit made in the app."""
    from tasks.models import Task

    Task.objects.filter(pk=count // 2 + 1).update(name=f"Edited task, take {n}")


def task_count():
    from tasks.models import Task

    return Task.objects.count()
