"""
Every response says what it cost in a Server-Timing header
(tasks/server_timing.py): the page cache's outcome, memcached round trips,
SQL queries, template rendering and the total, each measured around the
real calls. The counts here are checked against what Django and memcached
count themselves.
"""

import re

import pytest
from django.test import override_settings

from harness.visitor import Visitor
from tasks.models import Task
from tests.test_page_cache import get_counted

pytestmark = pytest.mark.django_db(transaction=True)

ENTRY = re.compile(r'(?P<name>[a-z]+)(?:;desc="(?P<desc>[^"]*)")?(?:;dur=(?P<dur>[0-9.]+))?')


def timing(response):
    """{name: (description, milliseconds)} of the Server-Timing header."""
    return entries_of(response["Server-Timing"])


def timing_of(response):
    """timing() of a response from a real server (harness/visitor.py)."""
    return entries_of(response.headers["Server-Timing"])


def entries_of(header):
    entries = {}
    for part in header.split(", "):
        match = ENTRY.fullmatch(part)
        assert match, part
        entries[match["name"]] = (match["desc"], float(match["dur"]) if match["dur"] else None)
    return entries


def test_a_page_hit_says_hit_no_query_one_round_trip(client, memcached_meter):
    Task.objects.create(name="a")
    client.get("/")
    response, queries = get_counted(client, memcached_meter)
    entries = timing(response)
    assert entries["page"] == ("hit", None)
    assert entries["cache"][0] == "memcached: 1 round trip" and memcached_meter.round_trips == 1
    assert entries["db"] == ("0 queries", 0.0) and queries == 0
    assert entries["render"][1] == 0.0  # no template on a hit
    assert entries["total"][1] >= entries["cache"][1] > 0


def test_a_miss_after_an_edit_says_miss_with_its_queries_and_round_trips(client, memcached_meter):
    task = Task.objects.create(name="a")
    client.get("/")
    task.name = "edited"
    task.save()
    response, queries = get_counted(client, memcached_meter)
    entries = timing(response)
    assert entries["page"] == ("miss", None)
    assert entries["db"][0] == f"{queries} {'query' if queries == 1 else 'queries'}" and queries >= 1
    assert entries["cache"][0] == f"memcached: {memcached_meter.round_trips} round trips"
    assert entries["render"][1] > 0
    # The list is queried while the template renders (inside its {% typed_cache %}
    # fragment): db time is part of render time, not added to it.
    assert entries["total"][1] >= entries["render"][1] >= entries["db"][1]


def test_a_worker_counts_the_queries_of_connections_it_opens_itself(start_app):
    # Under gunicorn each thread opens its own database connection, after
    # the middleware is set up: the wrapper must reach those too.
    Task.objects.create(name="counted")
    app = start_app()
    first = timing_of(Visitor(app.url).get("/"))
    assert first["page"][0] == "miss"
    assert first["db"][0] != "0 queries"
    assert timing_of(Visitor(app.url).get("/"))["db"][0] == "0 queries"


@pytest.mark.parametrize(
    "request_kind, outcome",
    [("post", "bypass: POST"), ("message", "bypass: a message to show")],
)
def test_a_bypass_says_why(client, request_kind, outcome):
    if request_kind == "post":
        response = client.post("/", {"name": ""})
    else:
        client.post("/424242/delete")  # "That task was already deleted.": a message in a cookie
        response = client.get("/")
    assert timing(response)["page"] == (outcome, None)


def test_every_response_carries_one_the_admin_and_errors_included(client, admin_user):
    client.force_login(admin_user)
    for path in ("/admin/", "/admin/tasks/task/", "/no-such-page"):
        entries = timing(client.get(path))
        assert "page" not in entries  # not the cached page
        assert {"cache", "db", "render", "total"} <= set(entries)
    assert int(timing(client.get("/admin/tasks/task/"))["db"][0].split()[0]) > 0


def test_on_the_embedded_file_cache_it_counts_operations(client, tmp_path):
    files = {"BACKEND": "tasks.server_timing.TimedFileBasedCache", "LOCATION": str(tmp_path)}
    with override_settings(CACHES={"default": files, "template_fragments": files}):
        client.get("/")
        entries = timing(client.get("/"))
    assert entries["page"] == ("hit", None)
    assert entries["cache"][0] == "file cache: 2 operations"  # the version and the page
