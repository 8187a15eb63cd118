"""
Anonymous adds and deletes are limited per client address, and per IPv6 /48
(tasks/views.py, counted by tasks/throttle.py), before any work: over the
limit, an add gets a 429 with Retry-After and the task list page with the
name as typed, and nothing is saved; a delete gets a 429 and deletes
nothing. While memcached is down, nothing is counted and every write goes
through.
"""

import html
import logging
import re
import threading

import pytest
from django.test import override_settings

from harness.services import free_port
from harness.visitor import TOKEN, Visitor
from tasks.models import Task
from tasks.views import ADD_PER_ADDRESS, ADD_PER_NETWORK, DELETE_PER_ADDRESS
from tests.conftest import HttpsClient
from tests.test_response_headers import assert_protected

pytestmark = pytest.mark.django_db(transaction=True)

TYPED = 'Call the plumber <about> the "sink" 🙂'
ROUTER = "10.1.2.3"  # what Heroku's router appends: the client as it saw it


@pytest.fixture(autouse=True)
def behind_a_router(settings):
    settings.TRUST_X_FORWARDED_FOR = True


def add(name, address):
    """An add from `address`, through Heroku's router, from a new browser."""
    return HttpsClient().post("/", {"name": name}, HTTP_X_FORWARDED_FOR=address)


def delete(task_id, address):
    return HttpsClient().post(f"/{task_id}/delete", HTTP_X_FORWARDED_FOR=address)


def test_the_add_over_the_limit_gets_a_429_that_keeps_the_typed_name_and_saves_nothing():
    for number in range(ADD_PER_ADDRESS.allowance):
        assert add(f"task {number}", "203.0.113.7").status_code == 302
    response = add(TYPED, "203.0.113.7")
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= ADD_PER_ADDRESS.window_seconds
    body = response.content.decode()
    assert f'value="{html.escape(TYPED)}"' in body
    assert re.search(
        r"Your task was not saved: too many tasks were added from your address\. "
        r"What you typed is still here; please try again in \d+ minutes?\.",
        body,
    )
    assert Task.objects.count() == ADD_PER_ADDRESS.allowance
    # The page as ever around the form: the list, headers, never stored.
    assert len(re.findall(r'<span class="task-name">', body)) == ADD_PER_ADDRESS.allowance
    assert "no-store" in response["Cache-Control"]
    assert_protected(response)


def test_another_address_is_unaffected():
    for number in range(ADD_PER_ADDRESS.allowance + 1):
        add(f"task {number}", "203.0.113.8")
    assert add("mine", "203.0.113.9").status_code == 302
    assert Task.objects.filter(name="mine").count() == 1
    assert Task.objects.count() == ADD_PER_ADDRESS.allowance + 1


def test_the_count_comes_before_any_work(django_assert_num_queries):
    # Refused names count too: validation reads the database.
    for _ in range(ADD_PER_ADDRESS.allowance):
        assert add("", "203.0.113.10").status_code == 400
    with django_assert_num_queries(0):
        response = add("valid", "203.0.113.10")
    assert response.status_code == 429
    assert 'value="valid"' in response.content.decode()
    assert not Task.objects.exists()


def test_many_64s_of_one_48_are_bounded_together():
    # One add from each of many /64s of 2001:db8:5::/48: the /48 gets
    # ADD_PER_NETWORK, not ADD_PER_ADDRESS for each of its 65,536 /64s.
    for number in range(ADD_PER_NETWORK.allowance):
        assert add(f"task {number}", f"2001:db8:5:{number:x}::1").status_code == 302
    response = add("one more", "2001:db8:5:ffff::1")
    assert response.status_code == 429
    assert "too many tasks were added from your network." in response.content.decode()
    assert Task.objects.count() == ADD_PER_NETWORK.allowance
    assert add("next door", "2001:db8:6::1").status_code == 302  # another /48


def test_an_ipv6_client_counts_per_64():
    for number in range(ADD_PER_ADDRESS.allowance):
        assert add(f"task {number}", f"2001:db8:9:1::{number + 1:x}").status_code == 302
    assert add("one more", "2001:db8:9:1:ffff::1").status_code == 429
    assert add("the next /64", "2001:db8:9:2::1").status_code == 302


def test_deletes_over_the_limit_get_a_429_and_delete_nothing():
    task = Task.objects.create(name="stays")
    for _ in range(DELETE_PER_ADDRESS.allowance):
        # Already deleted: no write, but the count comes first.
        assert delete(424242, "203.0.113.11").status_code == 302
    response = delete(task.pk, "203.0.113.11")
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= DELETE_PER_ADDRESS.window_seconds
    assert "Too many tasks were deleted from your address. Please try again in" in response.content.decode()
    assert Task.objects.filter(pk=task.pk).exists()
    # Adds are counted apart, and so is every other address.
    assert add("added", "203.0.113.11").status_code == 302
    assert delete(task.pk, "203.0.113.12").status_code == 302
    assert not Task.objects.filter(pk=task.pk).exists()


def test_while_memcached_is_down_adds_and_deletes_fail_open_and_say_so(caplog):
    assert add("counted", "203.0.113.99").status_code == 302  # throttling is on
    down = {"BACKEND": "memcachier_cache.MemCachierCache", "LOCATION": [f"127.0.0.1:{free_port()}"]}
    with override_settings(CACHES={"default": down, "template_fragments": down}):
        with caplog.at_level(logging.WARNING, logger="tasks.throttle"):
            for number in range(ADD_PER_ADDRESS.allowance + 2):
                assert add(f"task {number}", "203.0.113.13").status_code == 302
            for task in Task.objects.filter(name__startswith="task ")[: DELETE_PER_ADDRESS.allowance + 1]:
                assert delete(task.pk, "203.0.113.13").status_code == 302
    assert Task.objects.count() == 2  # "counted", and one left
    assert caplog.text.count("throttling is off") == 1  # once, not once a write
    with caplog.at_level(logging.WARNING, logger="tasks.throttle"):
        assert add("counted again", "203.0.113.13").status_code == 302
    assert caplog.text.count("throttling is back on") == 1


def test_a_concurrent_burst_saves_exactly_the_allowance(start_app):
    # Real concurrency: gunicorn's threads and workers, one memcached.
    app = start_app({"TRUST_X_FORWARDED_FOR": "1", "WEB_CONCURRENCY": "2"})
    burst = 2 * ADD_PER_ADDRESS.allowance
    statuses = []
    start = threading.Barrier(burst)

    def add_one(number):
        visitor = Visitor(app.url)
        token = TOKEN.search(visitor.get("/").text).group(1)
        start.wait()
        fields = {"name": f"burst {number}", "csrfmiddlewaretoken": token}
        statuses.append(visitor.request("POST", "/", fields, headers={"X-Forwarded-For": ROUTER}).status)

    threads = [threading.Thread(target=add_one, args=(number,)) for number in range(burst)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [302] * ADD_PER_ADDRESS.allowance + [429] * ADD_PER_ADDRESS.allowance
    assert Task.objects.count() == ADD_PER_ADDRESS.allowance
