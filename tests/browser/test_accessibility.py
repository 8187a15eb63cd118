"""
No axe-core violation on the pages a newcomer meets first: the task list
(empty, with tasks, refusing an invalid name) and the admin's Cache page
with its confirmation step, on memcached and on the embedded file cache,
in the light and the dark colour scheme.

axe-core (the copy axe-playwright-python ships) runs with its default rules
(WCAG 2.0-2.2 A and AA, and best practices), injected and run through
Playwright's page.evaluate, which goes through the DevTools protocol: the
site's Content-Security-Policy (no inline script) does not apply to it. So
these browser contexts keep the CSP (no bypass_csp=True): axe judges the page
a visitor gets, with whatever the CSP blocks, blocked. The Watch that every
browser test has still fails a test on any console error, axe's included:
on a page whose stylesheets @import others (the admin's change forms),
axe-core's CSS preload adds <style> elements that the CSP blocks and the
console reports; none of the pages here has one.
"""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.contrib.auth.models import User
from playwright.sync_api import expect

from tasks.models import Task

from .browsing import log_in_to_admin

pytestmark = pytest.mark.django_db(transaction=True)

AXE = Axe()
SCHEMES = ["light", "dark"]


def assert_no_violations(visitor, what):
    results = AXE.run(visitor.page)
    assert results.violations_count == 0, f"{what} ({visitor.page.url}):\n{results.generate_report()}"


@pytest.mark.parametrize("scheme", SCHEMES)
def test_the_task_list_empty_with_tasks_and_with_an_error(open_visitor, scheme):
    visitor = open_visitor()
    visitor.page.emulate_media(color_scheme=scheme)
    visitor.open()
    expect(visitor.page.get_by_text("No tasks yet. Add one above.")).to_be_visible()
    assert_no_violations(visitor, "the empty task list")

    visitor.add("Buy milk")
    visitor.add("Walk the dog <b>now</b> & then")
    assert visitor.task_names() == ["Walk the dog <b>now</b> & then", "Buy milk"]
    assert_no_violations(visitor, "the task list with tasks")
    assert visitor.reload().headers["x-cache"] == "HIT"
    assert_no_violations(visitor, "the cached task list")

    visitor.add_invalid(" ")
    assert visitor.error_messages() == ["Task name is required."]
    assert_no_violations(visitor, "the task list refusing an empty name")


@pytest.mark.parametrize("scheme", SCHEMES)
def test_the_cache_page_on_memcached(open_visitor, admin_visitor, scheme):
    Task.objects.create(name="Buy milk")
    public = open_visitor()
    public.open()
    assert public.reload().headers["x-cache"] == "HIT"  # a hit and a miss for the chart

    admin = admin_visitor
    admin.page.emulate_media(color_scheme=scheme)
    admin.open("/admin/")
    assert_no_violations(admin, "the admin index, which links to the Cache page")
    admin.open("/admin/cache/")
    expect(admin.page.get_by_role("heading", name="memcached servers")).to_be_visible()
    expect(admin.page.locator(".cache-chart svg")).to_be_visible()
    assert_no_violations(admin, "the Cache page on memcached")

    admin.submit(admin.page.get_by_role("button", name="Flush the whole cache…"))
    expect(admin.page.get_by_text("memcached's flush_all")).to_be_visible()
    assert_no_violations(admin, "the Cache page's confirmation step")


def test_the_cache_page_on_the_file_cache(start_app, open_visitor, tmp_path):
    folder = tmp_path / "file-cache"
    app = start_app({"MEMCACHIER_SERVERS": None, "FILE_CACHE_DIR": str(folder)})
    Task.objects.create(name="Buy milk")
    password = "correct-horse-battery-staple-42"
    user = User.objects.create_superuser("admin", "admin@example.com", password)
    public = open_visitor()
    public.open(f"{app.url}/")
    assert public.reload().headers["x-cache"] == "HIT"

    admin = open_visitor()
    log_in_to_admin(admin, user, password, base=app.url)
    admin.open(f"{app.url}/admin/cache/")
    expect(admin.page.get_by_role("heading", name="File cache (embedded default)")).to_be_visible()
    page_bytes = admin.page.get_by_role("row", name=re.compile("^The page")).get_by_role("cell").last.inner_text()
    assert int(page_bytes) > 0, "the cached page's file is not empty"
    assert "memcached" not in admin.page.locator("#content-main").inner_text()
    assert_no_violations(admin, "the Cache page on the file cache")

    admin.submit(admin.page.get_by_role("button", name="Flush the whole cache…"))
    expect(admin.page.get_by_text(f"in the file cache's folder, {folder}")).to_be_visible()
    assert_no_violations(admin, "the Cache page's confirmation step on the file cache")


@pytest.mark.parametrize("scheme", SCHEMES)
def test_the_pages_of_a_long_list_and_their_links(open_visitor, scheme):
    Task.objects.bulk_create([Task(name=f"Chore {number}") for number in range(1, 61)])
    visitor = open_visitor()
    visitor.page.emulate_media(color_scheme=scheme)
    visitor.open()
    assert visitor.task_names()[:2] == ["Chore 60", "Chore 59"]
    assert_no_violations(visitor, "the newest page, with a link to older tasks")
    with visitor.page.expect_navigation():
        visitor.page.get_by_role("link", name="Older tasks").click()
    assert visitor.task_names() == [f"Chore {number}" for number in range(10, 0, -1)]
    assert_no_violations(visitor, "the oldest page, with links to newer tasks")
    with visitor.page.expect_navigation():
        visitor.page.get_by_role("link", name="Newer tasks").click()
    assert visitor.task_names()[0] == "Chore 60"
