"""
The cache at work, as a reader of the guide watches it: in the browser's
own Performance API (the Server-Timing entries of each page load), and on
the admin's Cache page, whose screenshot docs/caching.md shows.
"""

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from harness.services import Memcached
from tasks.models import Task

from .browsing import log_in_to_admin, save_screenshot
from .test_screenshots import seed_tasks

pytestmark = pytest.mark.django_db(transaction=True)

SERVER_TIMING = """() => Object.fromEntries(
    performance.getEntriesByType("navigation")[0].serverTiming.map(e => [e.name, [e.description, e.duration]]))"""


def server_timing(visitor):
    """{name: [description, ms]}, as Chromium read the page's Server-Timing header."""
    return visitor.page.evaluate(SERVER_TIMING)


def test_chromium_reads_hits_and_misses_from_server_timing(visitor):
    task = Task.objects.create(name="Buy milk")
    visitor.open()
    visitor.reload()
    warm = server_timing(visitor)
    assert warm["page"][0] == "hit"
    assert warm["db"][0] == "0 queries"
    assert warm["cache"][0] == "memcached: 1 round trip"
    assert warm["total"][1] > 0

    task.name = "Buy oat milk"
    task.save()  # a new list version: the next load is rebuilt
    visitor.reload()
    after_edit = server_timing(visitor)
    assert after_edit["page"][0] == "miss"
    assert int(after_edit["db"][0].split()[0]) >= 1
    assert after_edit["render"][1] > 0
    assert visitor.task_names() == ["Buy oat milk"]


def hits_shown(admin):
    return sum(int(cell) for cell in admin.page.locator("td.hits").all_inner_texts())


@pytest.fixture
def own_app(start_app, live_app):
    """The app on a memcached of its own, fresh: the same counts every run."""
    memcached = Memcached().start()
    yield start_app({"MEMCACHIER_SERVERS": memcached.address})
    memcached.stop()


def test_staff_watch_hits_rise_then_clear_the_apps_keys(own_app, open_visitor):
    seed_tasks()
    password = "correct-horse-battery-staple-42"
    staff = User.objects.create_superuser("admin", "admin@example.com", password)
    public, admin = open_visitor(), open_visitor()
    public.open(f"{own_app.url}/")
    log_in_to_admin(admin, staff, password, base=own_app.url)
    admin.submit(admin.page.get_by_role("link", name="Hits, misses and this app's entries"))
    before = hits_shown(admin)

    for _ in range(3):
        public.reload()
    admin.reload()
    # Each page hit reads 2 keys (the list version and the page).
    assert hits_shown(admin) >= before + 3 * 2
    expect(admin.page.locator(".cache-chart svg rect.bar-hits")).to_have_count(1)
    expect(admin.page.get_by_text("Row fragments of the newest page: 4 of 4 tasks.")).to_be_visible()
    # What changes from run to run (a port, a token, the uptime) is masked;
    # byte counts move by a byte or two (a random token compresses its way).
    volatile = [admin.page.locator(selector) for selector in (".volatile", ".cache-chart text.server")]
    save_screenshot(
        admin, "cache-dashboard.png", changed_pixels_allowed=0.001, full_page=True, mask=volatile, mask_color="#ffffff"
    )

    admin.submit(admin.page.get_by_role("button", name="Clear this app's keys…"))
    admin.submit(admin.page.get_by_role("button", name="Yes, clear this app's keys"))
    expect(admin.page.locator(".messagelist .success")).to_contain_text("Cleared this app's keys")
    public.reload()
    assert server_timing(public)["page"][0] == "miss"
