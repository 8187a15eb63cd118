"""
The admin's Cache page (tasks/admin_cache.py): for staff only; the servers'
counters, this app's entries and a chart; clearing after a confirmation,
as `manage.py clear_cache` does; and it works while memcached is down and on
the embedded file cache.
"""

import logging
import re

import pytest
from django.core.cache import cache
from django.test import override_settings

from tasks import cache as keys
from tasks.models import Task
from tests.conftest import HttpsClient
from tests.services import free_port
from tests.test_security_headers import assert_protected

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def staff(client, admin_user):
    client.force_login(admin_user)
    return client


def test_only_staff_see_it(client, django_user_model):
    assert client.get("/admin/cache/")["Location"] == "/admin/login/?next=/admin/cache/"
    client.force_login(django_user_model.objects.create_user("visitor"))
    assert client.get("/admin/cache/").status_code == 302
    assert client.post("/admin/cache/clear/all/", {"confirmed": "yes"}).status_code == 302


def test_the_admin_index_links_to_it(staff):
    assert 'href="/admin/cache/"' in staff.get("/admin/").content.decode()


def test_it_shows_the_servers_counters_and_a_chart_of_hits_and_misses(staff):
    Task.objects.create(name="a")
    visitor = HttpsClient()
    visitor.get("/")
    visitor.get("/")
    page = staff.get("/admin/cache/")
    assert page.status_code == 200
    assert_protected(page)
    body = page.content.decode()
    hits = int(cache.server_stats()[next(iter(cache.server_stats()))]["get_hits"])
    shown = int(re.search(r'<td class="hits">(\d+)</td>', body).group(1))
    assert 0 < shown <= hits  # read just before this test's own reading
    assert '<rect class="bar-hits"' in body and '<rect class="bar-misses"' in body
    assert "style=" not in body.split('<div id="content-main"', 1)[1]  # nothing the CSP would block


def test_it_shows_this_apps_entries_for_the_current_version(staff):
    for name in ("a", "b", "c"):
        Task.objects.create(name=name)
    HttpsClient().get("/")
    body = staff.get("/admin/cache/").content.decode()
    version = cache.get(keys.LIST_VERSION)
    assert f">{version}</code>" in body
    for entry in ("The page", "The list (query cache)", "The list fragment"):
        assert re.search(rf"<th scope=\"row\">{re.escape(entry)}</th><td>yes</td><td>\d+</td>", body), entry
    assert "Row fragments: 3 of 3 tasks." in body
    Task.objects.create(name="d")  # a new version: nothing is cached for it yet
    body = staff.get("/admin/cache/").content.decode()
    assert body.count("<td>no</td>") == 3
    assert "Row fragments: 3 of 4 tasks." in body


@pytest.mark.parametrize("scope, gone", [("app", "this app's keys"), ("all", "every key")])
def test_clearing_asks_first_then_clears_as_the_command_does(staff, scope, gone, caplog):
    Task.objects.create(name="a")
    HttpsClient().get("/")
    cache.set("someone-elses-key", 1)
    confirm = staff.post(f"/admin/cache/clear/{scope}/")
    assert confirm.status_code == 200
    assert 'name="confirmed" value="yes"' in confirm.content.decode()
    assert HttpsClient().get("/")["X-Cache"] == "HIT"  # nothing cleared yet
    with caplog.at_level(logging.INFO, logger="tasks.cache_control"):
        done = staff.post(f"/admin/cache/clear/{scope}/", {"confirmed": "yes"}, follow=True)
    assert done.redirect_chain == [("/admin/cache/", 302)]
    assert HttpsClient().get("/")["X-Cache"] == "MISS"
    assert (cache.get("someone-elses-key") is None) == (scope == "all"), gone
    assert caplog.records, "a log line says who cleared what"


def test_only_a_superuser_may_flush_the_whole_cache(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("editor", is_staff=True))
    body = client.get("/admin/cache/").content.decode()
    assert 'action="/admin/cache/clear/app/"' in body
    assert 'action="/admin/cache/clear/all/"' not in body
    cache.set("someone-elses-key", 1)
    assert client.post("/admin/cache/clear/all/").status_code == 403
    assert client.post("/admin/cache/clear/all/", {"confirmed": "yes"}).status_code == 403
    assert cache.get("someone-elses-key") == 1
    assert client.post("/admin/cache/clear/app/", {"confirmed": "yes"}).status_code == 302


def test_an_unknown_scope_is_a_404(staff):
    assert staff.post("/admin/cache/clear/everything/", {"confirmed": "yes"}).status_code == 404


def test_it_works_while_memcached_is_down_and_says_so(staff):
    address = f"127.0.0.1:{free_port()}"
    down = {"BACKEND": "config.memcached.MemCachierCache", "LOCATION": [address], "OPTIONS": {"socket_timeout": 0.25}}
    with override_settings(CACHES={"default": down, "template_fragments": down}):
        page = staff.get("/admin/cache/")
    assert page.status_code == 200
    body = page.content.decode()
    assert f"memcached can't be reached ({address})" in body
    assert "No task list version is cached: memcached can't be reached." in body


def test_it_works_on_the_embedded_file_cache(staff, tmp_path):
    files = {"BACKEND": "config.server_timing.TimedFileBasedCache", "LOCATION": str(tmp_path)}
    with override_settings(CACHES={"default": files, "template_fragments": files}):
        Task.objects.create(name="a")
        HttpsClient().get("/")
        page = staff.get("/admin/cache/")
        assert page.status_code == 200
        body = page.content.decode()
        assert "File cache (embedded default)" in body
        assert "Row fragments: 1 of 1 tasks." in body
        staff.post("/admin/cache/clear/app/", {"confirmed": "yes"})
        assert HttpsClient().get("/")["X-Cache"] == "MISS"
