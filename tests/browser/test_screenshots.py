"""The task list at desktop and phone size, and the admin: tidy, quiet,
local-only, and pictured in docs/screenshots/ for the README."""

import datetime

import pytest
from playwright.sync_api import expect

from tasks.models import Task

from .browsing import DESKTOP, PHONE, overflowing_elements, save_screenshot

pytestmark = pytest.mark.django_db(transaction=True)

TASKS = [
    "Buy milk and bread",
    "Book the dentist for Tuesday morning",
    "Renew the MemCachier plan",
    "Write the quarterly report for Friday's board meeting, with the cache hit rates",
]
SIZES = {
    "desktop": {"viewport": DESKTOP},
    "phone": {"viewport": PHONE, "device_scale_factor": 2, "is_mobile": True, "has_touch": True},
}


def seed_tasks():
    """TASKS, with fixed times: the same pictures on every run."""
    start = datetime.datetime(2025, 1, 15, 9, 0, tzinfo=datetime.UTC)
    for minutes, name in enumerate(TASKS):
        task = Task.objects.create(name=name)
        when = start + datetime.timedelta(minutes=minutes)
        Task.objects.filter(pk=task.pk).update(created_at=when, updated_at=when)


def assert_readable(page):
    assert overflowing_elements(page) == []
    # The stylesheet arrived (whitenoise, hashed name) and applies.
    expect(page.locator(".site-header")).to_have_css("background-color", "rgb(11, 110, 79)")
    assert float(page.locator("body").evaluate("el => parseFloat(getComputedStyle(el).fontSize)")) >= 16
    # Every button is a comfortable target (WCAG 2.2 asks 24 x 24 px at least).
    for button in page.get_by_role("button").all():
        box = button.bounding_box()
        assert box["width"] >= 44 and box["height"] >= 24, f"{button.inner_text()}: {box}"


@pytest.mark.parametrize("size", SIZES)
def test_the_task_list_is_tidy_and_quiet(open_visitor, size):
    seed_tasks()
    visitor = open_visitor(**SIZES[size])
    visitor.open()
    assert visitor.task_names() == TASKS[::-1]  # newest first
    assert_readable(visitor.page)
    save_screenshot(visitor, f"task-list-{size}.png", full_page=True)

    # Long names wrap, an error and a message fit: still nothing sticks out.
    visitor.add("x" * 200)
    visitor.add(" ".join(["supercalifragilistic"] * 9))
    assert_readable(visitor.page)
    visitor.add_invalid(" ")
    assert visitor.error_messages() == ["Task name is required."]
    assert_readable(visitor.page)

    assert visitor.watch.problems() == []
    assert visitor.watch.requests, "no request seen: the watch is not listening"


def test_the_admin_screenshot(admin_visitor):
    seed_tasks()
    admin_visitor.open("/admin/tasks/task/")
    expect(admin_visitor.page.get_by_role("heading", name="Select task to change")).to_be_visible()
    expect(admin_visitor.page.locator("#result_list tbody tr")).to_have_count(len(TASKS))
    save_screenshot(admin_visitor, "admin.png", full_page=True)
