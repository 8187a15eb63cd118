"""Security: who gets in, what a forged request can do, and what leaks.

- Production settings pass `check --deploy`; without SECRET_KEY the app
  refuses to start.
- The admin wants a staff login.
- Every POST wants the token of the visitor's own CSRF cookie, from this site.
- The shared cached page carries nothing of the visitor it was rendered for.
- In production, cookies are Secure, HttpOnly and SameSite.
- memcached credentials appear in no log and no error page.

Input validation is in test_views.py and test_hostile_input.py.
"""

import html
import re
import subprocess
import sys
from collections.abc import Callable
from typing import NamedTuple
from urllib.parse import quote

import pytest
from django.db import connection
from django.views.debug import ExceptionReporter

from harness.services import Runserver
from harness.visitor import Visitor
from tasks import keys, list_version
from tasks.models import Task
from tasks.pages import NEWEST
from tests.conftest import SASL_USER, HttpsClient, database_url, stopped_log
from tests.test_settings import clean_env

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
SAME_SITE = {"origin": "https://testserver"}

STRONG_KEY = "k" * 10 + "Q8x!r@3$zP-9mWn_7vB#2cL^5tY&1hJ*4dF(6sG)0aE+uI=oK~" * 2


def token_of(response):
    return TOKEN.search(response.content.decode()).group(1)


# --- Production settings -------------------------------------------------


def test_production_settings_pass_check_deploy_with_no_warnings():
    env = clean_env(SECRET_KEY=STRONG_KEY, ALLOWED_HOSTS="example.herokuapp.com")
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "DEBUG"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.parametrize("key", [None, "", "   "], ids=["unset", "empty", "blank"])
def test_without_a_secret_key_gunicorn_refuses_to_start_and_says_what_to_set(start_app, key):
    with pytest.raises(RuntimeError, match="exited"):
        start_app({"SECRET_KEY": key, "DEBUG": None})
    log = stopped_log(start_app.servers[-1])
    assert "SECRET_KEY is not set" in log
    assert "DEBUG=1" in log


def test_debug_runs_without_a_secret_key(start_app):
    app = start_app({"SECRET_KEY": None, "DEBUG": "1"})
    assert app.process.poll() is None


# --- The admin --------------------------------------------------------------

ADMIN_URLS = [
    "/admin/",
    "/admin/tasks/task/",
    "/admin/tasks/task/add/",
    "/admin/tasks/task/{pk}/change/",
    "/admin/tasks/task/{pk}/delete/",
    "/admin/tasks/task/{pk}/history/",
    "/admin/auth/user/",
]


@pytest.fixture
def fast_hashing(settings):
    # Django's PBKDF2 costs about half a second a password on these machines.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


STAFF_PASSWORD = "staff-password-1"


@pytest.fixture
def staff(fast_hashing, django_user_model):
    return django_user_model.objects.create_superuser("staff", password=STAFF_PASSWORD)


@pytest.fixture
def login_as(client, django_user_model):
    def login(who):
        if who == "anonymous":
            return client
        user = django_user_model.objects.create_user(
            "visitor", is_staff=who != "not staff", is_superuser=who == "superuser"
        )
        client.force_login(user)
        return client

    return login


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("admin_url", ADMIN_URLS)
@pytest.mark.parametrize("who", ["anonymous", "not staff"])
def test_the_admin_sends_anyone_but_staff_to_the_login(login_as, who, admin_url):
    task = Task.objects.create(name="private")
    client = login_as(who)
    url = admin_url.format(pk=task.pk)
    login = f"/admin/login/?next={quote(url)}"
    response = client.get(url)
    assert (response.status_code, response["Location"]) == (302, login)
    # Posting the forms it would show does nothing either.
    response = client.post(url, {"name": "changed", "post": "yes"})
    assert (response.status_code, response["Location"]) == (302, login)
    assert list(Task.objects.values_list("name", flat=True)) == ["private"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("admin_url", ADMIN_URLS)
@pytest.mark.parametrize("who", ["staff without permissions", "superuser"])
def test_staff_sees_what_its_permissions_allow(login_as, who, admin_url):
    # The control for the test above: the same pages do open, for staff.
    task = Task.objects.create(name="private")
    response = login_as(who).get(admin_url.format(pk=task.pk))
    allowed = who == "superuser" or admin_url == "/admin/"
    assert response.status_code == (200 if allowed else 403)


# --- CSRF on every POST -----------------------------------------------------

FORGERIES = [
    "the page's token",  # the control
    "no token",
    "another visitor's token",
    "a made-up token",
    "no cookie",
    "a foreign origin",
]


FORM_NAMES = [
    "add task",
    "delete task",
    "admin login",
    "admin add",
    "admin change",
    "admin delete",
    "admin logout",
]


class Form(NamedTuple):
    url: str  # the page that shows the form
    action: str  # where it posts
    fields: dict
    staff_only: bool
    took_effect: Callable  # (client) -> did the post do its job?


def every_form(task, staff):
    """Every form of the site that POSTs, by name."""
    add = "/admin/tasks/task/add/"
    change, delete = (f"/admin/tasks/task/{task.pk}/{page}/" for page in ("change", "delete"))

    def added(client):
        return Task.objects.filter(name="forged").exists()

    def deleted(client):
        return not Task.objects.filter(pk=task.pk).exists()

    def changed(client):
        return Task.objects.get(pk=task.pk).name == "forged"

    def logged_in(client):
        return client.get("/admin/").status_code == 200

    def logged_out(client):
        return client.get("/admin/").status_code == 302

    login = {"username": staff.username, "password": STAFF_PASSWORD}
    return {
        "add task": Form("/", "/", {"name": "forged"}, False, added),
        "delete task": Form("/", f"/{task.pk}/delete", {}, False, deleted),
        "admin login": Form("/admin/login/", "/admin/login/?next=/admin/", login, False, logged_in),
        "admin add": Form(add, add, {"name": "forged"}, True, added),
        "admin change": Form(change, change, {"name": "forged"}, True, changed),
        "admin delete": Form(delete, delete, {"post": "yes"}, True, deleted),
        "admin logout": Form("/admin/", "/admin/logout/", {}, True, logged_out),
    }


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("forgery", FORGERIES)
@pytest.mark.parametrize("name", FORM_NAMES)
def test_every_post_needs_the_visitors_own_csrf_token(csrf_client, staff, name, forgery):
    task = Task.objects.create(name="original")
    form = every_form(task, staff)[name]
    if form.staff_only:
        csrf_client.force_login(staff)
    token = token_of(csrf_client.get(form.url))
    fields, headers = form.fields, SAME_SITE
    if forgery == "the page's token":
        fields = {**fields, "csrfmiddlewaretoken": token}
    elif forgery == "another visitor's token":
        fields = {**fields, "csrfmiddlewaretoken": token_of(HttpsClient().get("/"))}
    elif forgery == "a made-up token":
        fields = {**fields, "csrfmiddlewaretoken": "A" * 64}
    elif forgery == "no cookie":
        del csrf_client.cookies["csrftoken"]
        fields = {**fields, "csrfmiddlewaretoken": token}
    elif forgery == "a foreign origin":
        fields = {**fields, "csrfmiddlewaretoken": token}
        headers = {"origin": "https://evil.example"}

    response = csrf_client.post(form.action, fields, headers=headers)

    if forgery == "the page's token":
        # The control: with its own token, the same post works.
        assert response.status_code in (200, 302)
        assert form.took_effect(csrf_client)
    else:
        assert response.status_code == 403
        assert not form.took_effect(csrf_client)
        assert Task.objects.filter(pk=task.pk, name="original").exists()


# --- The shared cached page ---------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_shared_page_carries_nothing_of_the_visitor_it_was_rendered_for(django_user_model):
    Task.objects.create(name="shared")
    alice = HttpsClient(enforce_csrf_checks=True)
    alice.force_login(django_user_model.objects.create_user("alice-7f3e", "alice-7f3e@example.com"))
    session = alice.session
    session["note"] = "alice-note-1c9a"
    session.save()
    # The page rendered for Alice is the one stored for everybody...
    alice_page = alice.get("/")
    assert alice_page["X-Cache"] == "MISS"
    # ...then she gets a message of her own: that page is hers alone.
    alice.post("/987654/delete", {"csrfmiddlewaretoken": token_of(alice_page)}, headers=SAME_SITE)
    with_message = alice.get("/")
    assert "That task was already deleted." in with_message.content.decode()
    stored = list_version.read_versioned(keys.index_page(NEWEST), bytes)[1]
    assert stored is not None

    bob = HttpsClient(enforce_csrf_checks=True)
    bob_page = bob.get("/")
    assert bob_page["X-Cache"] == "HIT"
    assert "shared" in bob_page.content.decode()

    alice_secrets = {
        "her page's token": token_of(alice_page),
        "her CSRF cookie": alice.cookies["csrftoken"].value,
        "her session key": alice.cookies["sessionid"].value,
        "her user name": "alice-7f3e",
        "her email": "alice-7f3e@example.com",
        "her session data": "alice-note-1c9a",
        "her message": "already deleted",
    }
    seen_by_bob = bob_page.serialize().decode()
    for what, secret in alice_secrets.items():
        assert secret not in seen_by_bob, what
        assert secret not in stored.decode(), what
    assert "sessionid" not in bob.cookies
    # Bob's own token works; Alice's doesn't, with his cookie.
    for token, status in ((alice_secrets["her page's token"], 403), (token_of(bob_page), 302)):
        response = bob.post("/", {"name": "from bob", "csrfmiddlewaretoken": token}, headers=SAME_SITE)
        assert response.status_code == status


# --- Production cookies, on real responses --------------------------------


@pytest.mark.django_db(transaction=True)
def test_production_cookies_are_secure_httponly_and_samesite(start_app, admin_user):
    app = start_app({"DEBUG": None}, https=True)
    visitor = Visitor(app.url, https=True)
    page = visitor.get("/")
    assert page.status == 200
    assert page.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    cookies = dict(page.cookies)
    deleted = visitor.post("/987654/delete", {})
    assert deleted.status == 302
    cookies.update(deleted.cookies)  # a flash message travels in a cookie
    credentials = {"username": admin_user.username, "password": "password"}
    login = visitor.post("/admin/login/?next=/admin/", credentials, page="/admin/login/")
    assert login.status == 302
    cookies.update(login.cookies)
    stopped_log(app)

    assert set(cookies) == {"csrftoken", "messages", "sessionid", "login_device"}
    for name, cookie in cookies.items():
        assert cookie["secure"] is True, name
        assert cookie["httponly"] is True, name
        # The login's device cookie (tasks/login_throttle.py) is only ever
        # sent back to the login form, which is posted from this site.
        assert cookie["samesite"] == ("Strict" if name == "login_device" else "Lax"), name


# --- memcached credentials ------------------------------------------------

LEAKY_PASSWORD = "leaky-Pw-3b8f0d6a-must-never-show"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("debug", [False, True], ids=["production", "DEBUG=1"])
def test_memcached_credentials_are_in_no_log_and_no_error_page(start_app, sasl_memcached, debug):
    app = start_app(
        {
            "DEBUG": "1" if debug else None,
            "MEMCACHIER_SERVERS": sasl_memcached.address,
            "MEMCACHIER_USERNAME": SASL_USER,
            "MEMCACHIER_PASSWORD": LEAKY_PASSWORD,  # wrong, so memcached errors are logged too
            # A database without the app's tables: GET / is a 500, with its
            # traceback in the log.
            "DATABASE_URL": database_url().rsplit("/", 1)[0] + "/postgres",
        }
    )
    visitor = Visitor(app.url)
    pages = {
        404: visitor.get("/no-such-page"),
        400: visitor.request("GET", "/", headers={"Host": "evil.example"}),
        403: visitor.request("POST", "/", {"name": "no token"}),
        405: visitor.get("/1/delete"),
        500: visitor.get("/"),
    }
    log = stopped_log(app)

    assert {status: page.status for status, page in pages.items()} == {status: status for status in pages}
    # The error paths were really taken: a memcached error, a traceback.
    assert "memcached" in log and "refused the SASL login" in log
    assert "Traceback" in log and "ProgrammingError" in log
    if debug:
        # The technical 500 page lists the settings, CACHES included.
        assert "CACHES" in pages[500].text
    for secret in (LEAKY_PASSWORD, SASL_USER):
        assert secret not in log
        for status, page in pages.items():
            assert secret not in str(page.headers) + page.text, status


def test_error_reports_hide_memcached_credentials_in_the_environment(rf, settings):
    # runserver puts the whole environment in request.META, which the DEBUG
    # error page and error emails list.
    settings.DEBUG = True
    request = rf.get("/", MEMCACHIER_USERNAME=SASL_USER, MEMCACHIER_PASSWORD=LEAKY_PASSWORD)
    try:
        raise ValueError("boom")
    except ValueError:
        report = ExceptionReporter(request, *sys.exc_info()).get_traceback_html()
    assert "MEMCACHIER_USERNAME" in report
    assert SASL_USER not in report
    assert LEAKY_PASSWORD not in report


URL_PASSWORD = "url-Pw-81c2f0-never-shown"


@pytest.mark.parametrize("form", ["html", "text"])
def test_error_reports_hide_the_credentials_inside_any_url(rf, settings, form):
    settings.DEBUG = True
    settings.BACKUP_SERVICE_URL = f"https://backup:{URL_PASSWORD}@backups.example/v1"
    request = rf.get(
        "/",
        DATABASE_URL=f"postgres://tasks:{URL_PASSWORD}@db.example:5432/tasks",
        REDIS_URL=f"redis://:{URL_PASSWORD}@cache.example:6379",
    )
    try:
        raise ValueError("boom")
    except ValueError:
        reporter = ExceptionReporter(request, *sys.exc_info())
        report = reporter.get_traceback_html() if form == "html" else reporter.get_traceback_text()
    assert URL_PASSWORD not in report
    # The rest of each URL stays, to debug with.
    hidden = reporter.filter.cleansed_substitute
    shown = [f"postgres://{hidden}@db.example:5432/tasks", f"redis://{hidden}@cache.example:6379"]
    if form == "html":  # the text report leaves settings out
        shown.append(f"https://{hidden}@backups.example/v1")
    for url in shown:
        assert html.escape(url) in report if form == "html" else url in report


@pytest.mark.django_db(transaction=True)
def test_runserver_debug_page_shows_no_database_password(tmp_path):
    # runserver puts the whole environment in request.META. A database with
    # no tables (PostgreSQL trusts the test's password): GET / is a 500 with
    # DEBUG's technical page.
    database = connection.settings_dict
    url = f"postgres://{database['USER']}:{URL_PASSWORD}@{database['HOST']}:{database['PORT']}/postgres"
    env = {"DEBUG": "1", "DATABASE_URL": url, "MEMCACHIER_SERVERS": "", "FILE_CACHE_DIR": str(tmp_path)}
    server = Runserver(env).start()
    try:
        page = Visitor(server.url).get("/")
    finally:
        server.stop()
    assert page.status == 500
    assert "DATABASE_URL" in page.text and "ProgrammingError" in page.text
    assert URL_PASSWORD not in page.text
