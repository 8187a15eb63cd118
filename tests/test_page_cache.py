"""Per-view caching of GET /: shared, personalised, counted."""

import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.middleware.csrf import _unmask_cipher_token
from django.test.utils import CaptureQueriesContext

from tasks import keys, list_version
from tasks.models import Task
from tasks.pages import NEWEST
from tests.conftest import HttpsClient

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def get_counted(client, meter, path="/"):
    with CaptureQueriesContext(connection) as queries, meter:
        response = client.get(path)
    return response, len(queries)


def test_a_hit_costs_no_sql_and_one_round_trip(client, memcached_meter):
    Task.objects.create(name="cached")
    assert client.get("/")["X-Cache"] == "MISS"
    response, sql = get_counted(client, memcached_meter)
    assert response["X-Cache"] == "HIT"
    assert "cached" in response.content.decode()
    assert sql == 0
    assert memcached_meter.round_trips == 1
    # One get_many of the version and the page: memcached counts both keys.
    assert memcached_meter.gets == 2
    assert memcached_meter.sets == 0


@pytest.mark.parametrize("count", [5, 50])
def test_rebuild_after_one_change_costs_the_same_round_trips_for_any_length(client, memcached_meter, count):
    Task.objects.bulk_create([Task(name=f"task {i}") for i in range(count)])
    client.get("/")
    task = Task.objects.first()
    task.name = "changed"
    task.save()
    response, sql = get_counted(client, memcached_meter)
    assert response["X-Cache"] == "MISS"
    assert "changed" in response.content.decode()
    assert sql == 1
    # Waits: version+page, the list fragment, version+list, the rebuild lock,
    # the rows' get_many: 5 whatever the length. The writes that follow
    # (list, the changed row, list fragment, page) don't wait: quiet sets.
    assert memcached_meter.round_trips == 5
    # Sets: lock, list, the one changed row, list fragment, page.
    assert memcached_meter.sets == 5


def test_every_visitor_gets_their_own_working_token(memcached_meter):
    Task.objects.create(name="shared")
    alice, bob = HttpsClient(enforce_csrf_checks=True), HttpsClient(enforce_csrf_checks=True)
    alice_page, bob_page = alice.get("/"), bob.get("/")
    assert (alice_page["X-Cache"], bob_page["X-Cache"]) == ("MISS", "HIT")
    alice_token = TOKEN.search(alice_page.content.decode()).group(1)
    bob_token = TOKEN.search(bob_page.content.decode()).group(1)
    assert alice.cookies["csrftoken"].value != bob.cookies["csrftoken"].value
    assert alice_token != bob_token
    origin = {"origin": "https://testserver"}
    assert (
        alice.post("/", {"name": "from alice", "csrfmiddlewaretoken": alice_token}, headers=origin).status_code == 302
    )
    assert bob.post("/", {"name": "from bob", "csrfmiddlewaretoken": bob_token}, headers=origin).status_code == 302
    # Alice's token is no good with Bob's cookie.
    assert bob.post("/", {"name": "x", "csrfmiddlewaretoken": alice_token}, headers=origin).status_code == 403
    assert sorted(Task.objects.values_list("name", flat=True)) == ["from alice", "from bob", "shared"]


def test_the_stored_page_holds_no_token_or_cookie(client):
    client.get("/")
    version, content = list_version.read_versioned(keys.index_page(NEWEST), bytes)
    assert content is not None
    assert b"CSRF-SLOT" in content
    assert client.cookies["csrftoken"].value.encode() not in content
    assert not TOKEN.search(content.decode().replace("CSRF-SLOT", ""))


def test_a_cookieless_request_gets_a_fresh_cookie_even_on_a_hit():
    HttpsClient().get("/")
    visitor = HttpsClient()
    response = visitor.get("/")
    assert response["X-Cache"] == "HIT"
    assert "csrftoken" in response.cookies
    assert response["Cache-Control"].startswith("max-age=0")
    assert "private" in response["Cache-Control"]


def test_posts_and_error_pages_are_not_stored(client):
    response = client.post("/", {"name": ""})
    assert response.status_code == 400
    assert list_version.read_versioned(keys.index_page(NEWEST), bytes)[1] is None
    page = client.get("/")
    assert page["X-Cache"] == "MISS"
    assert "Task name is required." not in page.content.decode()


def test_query_strings_share_one_entry(client):
    client.get("/?a=1")
    assert client.get("/?b=2")["X-Cache"] == "HIT"
    assert client.get("/?utm_source=x&page=9")["X-Cache"] == "HIT"


def test_a_write_shows_at_once(client):
    client.get("/")
    client.post("/", {"name": "new one"})
    response = client.get("/")
    assert response["X-Cache"] == "MISS"
    assert "new one" in response.content.decode()


def test_query_layer_alone_costs_one_round_trip_and_no_sql(client, settings, memcached_meter):
    # No page and no fragments: nothing is keyed on the list version but the
    # list itself, so the version is read once, with it.
    settings.CACHES = {
        **settings.CACHES,
        "template_fragments": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"},
    }
    settings.CACHE_LAYERS = {"query"}
    Task.objects.create(name="listed")
    client.get("/")
    response, sql = get_counted(client, memcached_meter)
    assert "listed" in response.content.decode()
    assert sql == 0
    assert memcached_meter.round_trips == 1
    assert memcached_meter.gets == 2


def test_page_layer_off_never_stores(client, settings):
    settings.CACHE_LAYERS = {"query", "fragments"}
    client.get("/")
    assert client.get("/")["X-Cache"] == "MISS"
    assert cache.get(keys.index_page(NEWEST)) is None


# --- the hit path: early, bytes, every guarantee kept ---------------------------

# The page of 100 tasks before one form held the whole list: every row had a
# form and a CSRF token of its own (bench/results, 2026-11-24).
PAGE_OF_100_BEFORE = 46_036


def test_a_page_of_100_tasks_weighs_at_most_60_percent_of_before(client):
    from harness.data import CHORES

    Task.objects.bulk_create([Task(name=f"{CHORES[i % len(CHORES)]} #{i + 1}") for i in range(100)])
    client.get("/")
    page = client.get("/")
    assert page["X-Cache"] == "HIT"
    assert len(page.content) <= 0.6 * PAGE_OF_100_BEFORE
    # One token per kind of form: the add form and the list's.
    assert page.content.decode().count('name="csrfmiddlewaretoken"') == 2


def test_a_hit_is_answered_before_the_view_and_unpickles_nothing(client, monkeypatch):
    from memcachier_cache.values import BYTES, PICKLED
    from tasks import views

    Task.objects.create(name="cached")
    assert client.get("/")["X-Cache"] == "MISS"
    monkeypatch.setattr(views, "render_index", lambda *args, **kwargs: 1 / 0)  # never reached on a hit
    assert client.get("/")["X-Cache"] == "HIT"
    made = cache.make_key(keys.index_page(NEWEST))
    flags, _ = cache._cache._get_server(made).get_multi([made.encode()])[made.encode()]
    assert flags & BYTES and not flags & PICKLED


def test_a_hit_carries_every_header_a_miss_does(client):
    Task.objects.create(name="cached")
    miss, hit = client.get("/"), client.get("/")
    assert (miss["X-Cache"], hit["X-Cache"]) == ("MISS", "HIT")
    assert set(hit.headers) == set(miss.headers)
    for header in (
        "Content-Security-Policy",
        "Permissions-Policy",
        "X-Frame-Options",
        "Strict-Transport-Security",
        "X-Content-Type-Options",
        "Referrer-Policy",
        "Cache-Control",
        "Vary",
    ):
        assert hit[header] == miss[header], header
    # The token is longer than the slot the page was rendered with.
    assert hit["Content-Length"] == str(len(hit.content))
    assert miss["Content-Length"] == str(len(miss.content))


def test_a_hit_runs_none_of_the_middleware_below_the_page_cache(client, monkeypatch):
    from django.contrib.sessions.middleware import SessionMiddleware
    from django.middleware.common import CommonMiddleware
    from django.middleware.csrf import CsrfViewMiddleware

    assert client.get("/")["X-Cache"] == "MISS"
    for below in (SessionMiddleware, CommonMiddleware):
        monkeypatch.setattr(below, "process_request", lambda *args: 1 / 0)
    monkeypatch.setattr(CsrfViewMiddleware, "process_view", lambda *args: 1 / 0)
    assert client.get("/")["X-Cache"] == "HIT"


def test_a_hit_refuses_a_host_not_allowed_as_django_does(client):
    assert client.get("/")["X-Cache"] == "MISS"
    assert client.get("/")["X-Cache"] == "HIT"
    refused = client.get("/", headers={"host": "attacker.example"})
    assert refused.status_code == 400
    assert b"csrfmiddlewaretoken" not in refused.content


def test_a_hit_leaves_the_visitors_csrf_cookie_alone_and_a_render_renews_it(settings):
    visitor = HttpsClient(enforce_csrf_checks=True)
    first = visitor.get("/")
    assert first["X-Cache"] == "MISS"
    cookie = first.cookies["csrftoken"].value
    hit = visitor.get("/")
    assert hit["X-Cache"] == "HIT"
    assert "csrftoken" not in hit.cookies  # no Set-Cookie: the visitor has it
    token = TOKEN.search(hit.content.decode()).group(1)
    origin = {"origin": "https://testserver"}
    assert visitor.post("/", {"name": "from a hit", "csrfmiddlewaretoken": token}, headers=origin).status_code == 302
    render = visitor.get("/")
    assert render["X-Cache"] == "MISS"
    # As Django's get_token does: the same cookie, sent again to renew it.
    assert render.cookies["csrftoken"].value == cookie
    assert render.cookies["csrftoken"]["max-age"] == settings.CSRF_COOKIE_AGE


def test_a_malformed_csrf_cookie_is_replaced_on_a_hit_too():
    HttpsClient().get("/")
    visitor = HttpsClient()
    visitor.cookies["csrftoken"] = "not a csrf secret"
    hit = visitor.get("/")
    assert hit["X-Cache"] == "HIT"
    secret = hit.cookies["csrftoken"].value
    assert secret != "not a csrf secret" and len(secret) == 32
    token = TOKEN.search(hit.content.decode()).group(1)
    assert _unmask_cipher_token(token) == secret


def test_the_never_cache_headers_are_djangos_own():
    # tasks/page_cache.py sets what add_never_cache_headers would, at once.
    from django.http import HttpResponse
    from django.utils.cache import add_never_cache_headers
    from django.utils.http import parse_http_date

    from tasks.page_cache import NEVER_CACHE, _private

    django_made, ours = HttpResponse(), _private(HttpResponse(), "HIT")
    add_never_cache_headers(django_made)
    assert ours["Cache-Control"] == django_made["Cache-Control"] == NEVER_CACHE
    # Now, to the second (the two were made a moment apart).
    assert abs(parse_http_date(ours["Expires"]) - parse_http_date(django_made["Expires"])) <= 1


def test_a_stored_page_without_its_slot_count_is_a_miss(client):
    Task.objects.create(name="cached")
    assert client.get("/")["X-Cache"] == "MISS"
    version = list_version.current_list_version()
    list_version.store_versioned(keys.index_page(NEWEST), version, b"<p>no slot count</p>")
    response = client.get("/")
    assert (response.status_code, response["X-Cache"]) == (200, "MISS")
    assert "cached" in response.content.decode()
    assert client.get("/")["X-Cache"] == "HIT"  # stored again, as this release stores it


def test_a_hit_fills_every_slot_the_page_has(client):
    Task.objects.create(name="cached")
    client.get("/")
    stored = list_version.read_versioned(keys.index_page(NEWEST), bytes)[1]
    assert stored.startswith(b"2\n")  # the add form and the list's form
    hit = client.get("/")
    assert hit["X-Cache"] == "HIT"
    assert b"CSRF-SLOT" not in hit.content
    assert len(TOKEN.findall(hit.content.decode())) == 2
