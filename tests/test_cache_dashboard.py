"""
The admin's Cache page (tasks/admin_cache.py): for staff only; the servers'
counters, this app's entries and a chart; clearing after a confirmation,
as `manage.py clear_cache` does; and it works while memcached is down and on
the embedded file cache.
"""

import hashlib
import logging
import re

import pytest
from django.core.cache import cache
from django.test import override_settings

from harness.services import free_port
from tasks import keys
from tasks.models import Task
from tasks.pages import NEWEST
from tests.conftest import HttpsClient
from tests.test_response_headers import assert_protected

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
    assert "Row fragments of the newest page: 3 of 3 tasks." in body
    Task.objects.create(name="d")  # a new version: nothing is cached for it yet
    body = staff.get("/admin/cache/").content.decode()
    assert body.count("<td>no</td>") == 3
    assert "Row fragments of the newest page: 3 of 4 tasks." in body


@pytest.mark.parametrize("scope, gone", [("app", "this app's keys"), ("all", "every key")])
def test_clearing_asks_first_then_clears_as_the_command_does(staff, scope, gone, caplog):
    Task.objects.create(name="a")
    HttpsClient().get("/")
    cache.set("someone-elses-key", 1)
    confirm = staff.post(f"/admin/cache/clear/{scope}/")
    assert confirm.status_code == 200
    assert 'name="confirmed" value="yes"' in confirm.content.decode()
    assert HttpsClient().get("/")["X-Cache"] == "HIT"  # nothing cleared yet
    with caplog.at_level(logging.INFO, logger="tasks.cache_admin"):
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
    down = {"BACKEND": "memcachier_cache.MemCachierCache", "LOCATION": [address], "OPTIONS": {"socket_timeout": 0.25}}
    with override_settings(CACHES={"default": down, "template_fragments": down}):
        page = staff.get("/admin/cache/")
    assert page.status_code == 200
    body = page.content.decode()
    assert f"memcached can't be reached ({address})" in body
    assert "No task list version is cached: memcached can't be reached." in body


def test_it_works_on_the_embedded_file_cache(staff, tmp_path):
    files = {"BACKEND": "tasks.server_timing.TimedFileBasedCache", "LOCATION": str(tmp_path)}
    with override_settings(CACHES={"default": files, "template_fragments": files}):
        Task.objects.create(name="a")
        HttpsClient().get("/")
        page = staff.get("/admin/cache/")
        assert page.status_code == 200
        body = page.content.decode()
        assert "File cache (embedded default)" in body
        assert "Row fragments of the newest page: 1 of 1 tasks." in body
        staff.post("/admin/cache/clear/app/", {"confirmed": "yes"})
        assert HttpsClient().get("/")["X-Cache"] == "MISS"


@pytest.fixture
def file_cache(tmp_path):
    """The embedded default, Django's file cache, in a folder of the test's own."""
    files = {"BACKEND": "tasks.server_timing.TimedFileBasedCache", "LOCATION": str(tmp_path), "KEY_PREFIX": "tasklist"}
    with override_settings(CACHES={"default": files, "template_fragments": files}):
        yield tmp_path


def file_of(folder, key):
    """The file Django's FileBasedCache keeps a key in: the md5 of the key
    as made (prefix, version), worked out here independently of the app."""
    return folder / (hashlib.md5(cache.make_key(key).encode()).hexdigest() + ".djcache")


def test_on_the_file_cache_it_shows_the_sizes_of_the_files_on_disk(staff, file_cache):
    for name in ("a", "b", "c"):
        Task.objects.create(name=name)
    HttpsClient().get("/")
    version = cache.get(keys.LIST_VERSION)
    stored = {
        "The page": file_of(file_cache, keys.index_page(NEWEST)).stat().st_size,
        "The list (query cache)": file_of(file_cache, keys.task_list(NEWEST)).stat().st_size,
        "The list fragment": file_of(file_cache, keys.list_fragment(version, NEWEST)).stat().st_size,
    }
    assert all(size > 100 for size in stored.values()), stored  # pickled and compressed, but not empty
    body = staff.get("/admin/cache/").content.decode()
    for entry, size in stored.items():
        assert f'<th scope="row">{entry}</th><td>yes</td><td>{size}</td>' in body, entry
    # The folder's files, all counted, as they are once the page is served.
    on_disk = list(file_cache.glob("*.djcache"))
    shown = re.search(r"<td>(\d+)</td><td>(\d+)</td>\s*</tr>", body.split('class="cache-servers"', 1)[1])
    assert (int(shown.group(1)), int(shown.group(2))) == (len(on_disk), sum(f.stat().st_size for f in on_disk))


def test_a_fragment_cache_that_stores_nothing_shows_no_size(staff, file_cache):
    dummy = {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}
    default = {"BACKEND": "tasks.server_timing.TimedFileBasedCache", "LOCATION": str(file_cache)}
    with override_settings(CACHES={"default": default, "template_fragments": dummy}):
        Task.objects.create(name="a")
        HttpsClient().get("/")
        body = staff.get("/admin/cache/").content.decode()
    assert '<th scope="row">The list fragment</th><td>no</td><td>–</td>' in body
    assert re.search(r'<th scope="row">The page</th><td>yes</td><td>[1-9]\d*</td>', body)


def test_on_the_file_cache_it_says_what_a_flush_deletes_and_never_memcached(staff, file_cache):
    Task.objects.create(name="a")
    HttpsClient().get("/")
    cache.set("someone-elses-key", 1)
    said = f"Deletes every cache file (*.djcache) in the file cache&#x27;s folder, {file_cache}: every entry"
    page = staff.get("/admin/cache/").content.decode().split('<div id="content-main"', 1)[1]
    confirm = staff.post("/admin/cache/clear/all/").content.decode().split('<div id="content-main"', 1)[1]
    for body in (page, confirm):
        assert said in body
        assert "memcached" not in body.lower()
        assert "flush_all" not in body
    assert list(file_cache.glob("*.djcache"))
    staff.post("/admin/cache/clear/all/", {"confirmed": "yes"})
    assert cache.get("someone-elses-key") is None
    assert list(file_cache.glob("*.djcache")) == []


def test_on_memcached_a_flush_is_memcacheds_flush_all(staff):
    body = staff.get("/admin/cache/").content.decode()
    assert "memcached&#x27;s flush_all: every key, other apps&#x27; too." in body
    assert ".djcache" not in body
