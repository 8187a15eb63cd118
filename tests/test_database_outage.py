"""
PostgreSQL down: a write gets a 503 with Retry-After that gives the visitor
back what they typed (tasks/views.py); any other request the database can't
serve gets a 503 too (tasks/database_outage.py), never a 500. Reads of a
cached page go on, and a page from before the latest write is served,
flagged as stale (tasks/page_cache.py). The app runs under gunicorn on a
PostgreSQL of its own, which the test stops.
"""

import html
import re
import time

import pytest

from harness.faults.rig import Rig
from harness.visitor import TOKEN, Visitor

TYPED = 'Call the plumber <about> the "sink" 🙂'


@pytest.fixture
def app_without_database(tmp_path):
    """The app with a cached page of 3 tasks, and its PostgreSQL stopped."""
    with Rig(tmp_path) as rig:
        rig.start(seed_tasks=3)
        visitor = Visitor(rig.url)
        assert visitor.get().headers["X-Cache"] in ("MISS", "HIT")
        assert visitor.get().headers["X-Cache"] == "HIT"
        rig.postgres.stop()
        yield rig, visitor


def test_a_new_task_gets_a_503_that_keeps_what_was_typed(app_without_database):
    rig, visitor = app_without_database
    response = visitor.post("/", {"name": TYPED})
    assert response.status == 503
    assert response.headers["Retry-After"] == "10"
    assert f'value="{html.escape(TYPED)}"' in response.text
    assert "Your task was not saved: the database can't be reached right now." in response.text
    # The list around the form still shows, from the cache.
    assert len(re.findall(r'<span class="task-name">', response.text)) == 3


def test_reads_keep_coming_from_the_cache(app_without_database):
    _, visitor = app_without_database
    page = visitor.get()
    assert (page.status, page.headers["X-Cache"]) == (200, "HIT")


def test_with_the_list_not_cached_either_the_form_still_comes_back(app_without_database):
    rig, visitor = app_without_database
    token = TOKEN.search(visitor.get().text).group(1)
    rig.memcached.stop()
    rig.memcached.start()  # empty now
    response = visitor.request("POST", "/", {"name": TYPED, "csrfmiddlewaretoken": token})
    assert response.status == 503
    assert f'value="{html.escape(TYPED)}"' in response.text
    assert "The task list can't be shown right now." in response.text


@pytest.mark.parametrize("method, path", [("POST", "/1/delete"), ("GET", "/admin/tasks/task/")])
def test_any_other_request_gets_a_503_not_a_500(app_without_database, method, path):
    _, visitor = app_without_database
    if method == "POST":
        response = visitor.post(path, {})
    else:
        visitor.cookies["sessionid"] = "a" * 32  # so the admin asks the database
        response = visitor.get(path)
    assert response.status == 503
    assert response.headers["Retry-After"] == "10"
    assert "The database can&#x27;t be reached" in response.text


@pytest.fixture
def app_after_a_write_without_database(tmp_path):
    """The app with a cached page of 3 tasks, a 4th task added since (so the
    cached page is from before it), and its PostgreSQL stopped."""
    with Rig(tmp_path) as rig:
        rig.start(seed_tasks=3)
        visitor = Visitor(rig.url)
        # The miss stores the page without waiting for memcached's answer:
        # another thread's read may come first (tasks/page_cache.py).
        assert "HIT" in [visitor.get().headers["X-Cache"] for _ in range(20)]
        assert visitor.post("/", {"name": "added just before"}).status == 302
        rig.postgres.stop()
        yield rig, visitor


def test_a_page_from_before_the_latest_write_is_served_flagged_as_stale(app_after_a_write_without_database):
    _, visitor = app_after_a_write_without_database
    page = visitor.get()
    assert (page.status, page.headers["X-Cache"]) == (200, "STALE")
    assert 'page;desc="stale"' in page.headers["Server-Timing"]
    assert page.headers["Cache-Control"] == "max-age=0, no-cache, no-store, must-revalidate, private"
    assert "The database can't be reached right now: this list may be out of date" in page.text
    assert len(re.findall(r'<span class="task-name">', page.text)) == 3
    assert "added just before" not in page.text
    # The form stays, with this visitor's own token in it.
    assert TOKEN.search(page.text).group(1) != "CSRF-SLOT"


def test_a_stale_page_keeps_the_form_and_a_write_gets_the_503(app_after_a_write_without_database):
    _, visitor = app_after_a_write_without_database
    response = visitor.post("/", {"name": TYPED})
    assert response.status == 503
    assert response.headers["Retry-After"] == "10"
    assert f'value="{html.escape(TYPED)}"' in response.text


def test_a_page_the_cache_never_held_gets_a_503(app_after_a_write_without_database):
    _, visitor = app_after_a_write_without_database
    response = visitor.get("/?before=2")
    assert response.status == 503
    assert response.headers["Retry-After"] == "10"
    assert "The database can&#x27;t be reached" in response.text


def test_once_the_database_is_back_the_next_read_is_fresh(app_after_a_write_without_database):
    rig, visitor = app_after_a_write_without_database
    assert visitor.get().headers["X-Cache"] == "STALE"
    rig.postgres.start()
    # Each worker probes its own way back (every 0.5 s): until then a read
    # is still the stale page, flagged; never an unflagged one.
    deadline = time.monotonic() + 10
    while (page := visitor.get()).headers["X-Cache"] == "STALE":
        assert "this list may be out of date" in page.text
        assert time.monotonic() < deadline, "still stale 10 s after the database came back"
        time.sleep(0.05)
    assert (page.status, page.headers["X-Cache"]) == (200, "MISS")
    assert "added just before" in page.text
    assert "this list may be out of date" not in page.text
