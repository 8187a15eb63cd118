"""A visitor adds, fails to add and deletes tasks, with and without JavaScript."""

import pytest
from playwright.sync_api import expect

from tasks.models import Task

pytestmark = pytest.mark.django_db(transaction=True)


def saved_names():
    return list(Task.objects.values_list("name", flat=True))


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_a_visitor_adds_and_deletes_tasks_and_an_empty_name_adds_nothing(open_visitor, javascript):
    visitor = open_visitor(java_script_enabled=javascript)
    visitor.open()
    assert visitor.task_names() == []
    expect(visitor.page.get_by_text("No tasks yet. Add one above.")).to_be_visible()

    visitor.add("Buy milk")
    assert visitor.task_names() == ["Buy milk"]
    visitor.add("Walk the dog <b>now</b> & then")
    assert visitor.task_names() == ["Walk the dog <b>now</b> & then", "Buy milk"]

    for blank in ["", "   "]:
        visitor.add_invalid(blank)
        assert visitor.error_messages() == ["Task name is required."]
        expect(visitor.page.get_by_label("Task name")).to_have_attribute("aria-invalid", "true")
        assert visitor.task_names() == ["Walk the dog <b>now</b> & then", "Buy milk"]
    assert saved_names() == ["Buy milk", "Walk the dog <b>now</b> & then"]

    # The form on the error page works: its CSRF token is this visitor's.
    visitor.add("Water the plants")
    assert visitor.error_messages() == []
    assert visitor.task_names() == ["Water the plants", "Walk the dog <b>now</b> & then", "Buy milk"]

    visitor.delete("Walk the dog <b>now</b> & then")
    assert visitor.task_names() == ["Water the plants", "Buy milk"]
    assert saved_names() == ["Buy milk", "Water the plants"]

    visitor.reload()
    assert visitor.task_names() == ["Water the plants", "Buy milk"]
    visitor.delete("Buy milk")
    visitor.delete("Water the plants")
    assert visitor.task_names() == []
    expect(visitor.page.get_by_text("No tasks yet. Add one above.")).to_be_visible()
    assert saved_names() == []


def test_the_list_survives_a_reload_and_a_new_visitor_sees_it(open_visitor):
    visitor = open_visitor()
    visitor.open()
    for name in ["First", "Second", "Third"]:
        visitor.add(name)

    assert visitor.reload().headers["x-cache"] == "HIT"
    assert visitor.task_names() == ["Third", "Second", "First"]

    newcomer = open_visitor()
    newcomer.open()
    assert newcomer.task_names() == ["Third", "Second", "First"]


def test_deleting_a_task_already_deleted_in_another_tab_says_so_once(visitor):
    visitor.open()
    visitor.add("Buy milk")
    other_tab = visitor.new_tab()
    other_tab.open()
    other_tab.delete("Buy milk")
    assert other_tab.task_names() == []

    # The first tab still shows the task; its Delete finds nothing to delete.
    visitor.delete("Buy milk")
    assert visitor.messages() == ["That task was already deleted."]
    assert visitor.task_names() == []

    visitor.reload()
    assert visitor.messages() == []
