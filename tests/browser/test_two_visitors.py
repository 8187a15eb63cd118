"""Two visitors, each with their own cookies, work from the one cached page."""

import pytest

from tasks.models import Task

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_visitors_add_and_delete_from_the_cached_page_and_see_each_other(open_visitor):
    alice, bob = open_visitor(), open_visitor()
    alice.open()
    # Bob gets the page Alice's visit stored, with his own CSRF token put in.
    assert bob.open().headers["x-cache"] == "HIT"
    assert alice.cookie("csrftoken") and bob.cookie("csrftoken")
    assert alice.cookie("csrftoken") != bob.cookie("csrftoken")

    alice.add("Alice's task")
    assert alice.task_names() == ["Alice's task"]
    # From the page he got before Alice's change: still a valid form.
    bob.add("Bob's task")
    assert bob.task_names() == ["Bob's task", "Alice's task"]

    assert alice.reload().headers["x-cache"] == "HIT"
    assert alice.task_names() == ["Bob's task", "Alice's task"]

    alice.delete("Bob's task")
    assert alice.task_names() == ["Alice's task"]
    # Bob's page still shows both; he deletes Alice's task from it.
    bob.delete("Alice's task")
    assert bob.task_names() == []

    alice.reload()
    assert alice.task_names() == []
    bob.reload()
    assert bob.task_names() == []
    assert not Task.objects.exists()
