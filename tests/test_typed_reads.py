"""
Every value the app reads back from the cache is checked for its type
(tasks/typed_reads.py): an integer, stored bare as memcached's incr leaves
it, or a value of another type, under any key the app uses is a miss and a
log line, never a 500, and every page still shows the tasks.
"""

import pytest
from django.conf import settings
from django.contrib.sessions.backends import cached_db
from django.core.cache import cache
from django.core.cache.utils import make_template_fragment_key
from django.template import Context, Template

from tasks import keys, login_throttle, typed_reads
from tasks.models import Task
from tasks.pages import NEWEST, load_rows, newest_tasks
from tests.conftest import HttpsClient

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "the-right-password-1"
TASKS = ["first task", "second task"]
# Every key the app uses, by name: made once the page has been loaded (keys.page_keys and more).
KEYS = {
    "the list version": lambda version, admin: keys.LIST_VERSION,
    "the list": lambda version, admin: keys.task_list(NEWEST),
    "the page": lambda version, admin: keys.index_page(NEWEST),
    "the rebuild lock": lambda version, admin: keys.list_lock(version, NEWEST),
    "the list fragment": lambda version, admin: keys.list_fragment(version, NEWEST),
    "a row fragment": lambda version, admin: keys.task_row(load_rows(NEWEST)[0]),
    "the login counter": lambda version, admin: login_throttle.PER_ADDRESS.key("127.0.0.1"),
    "the admin's session": lambda version, admin: (
        cached_db.KEY_PREFIX + admin.cookies[settings.SESSION_COOKIE_NAME].value
    ),
}
# 7: stored bare, by memcached's own incr.
FORGERIES = {"an integer": 7, "a list": ["a", "list"], "a dict": {"a": "dict"}}
# A session is a dict: that one is its own type.
CASES = [(key, forgery) for key in KEYS for forgery in FORGERIES if (key, forgery) != ("the admin's session", "a dict")]


@pytest.fixture
def admin(django_user_model, settings):
    # Django's PBKDF2 costs about half a second a password on these machines.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.TRUST_X_FORWARDED_FOR = False  # the login counter's key is the connection's address
    django_user_model.objects.create_superuser("admin", password=PASSWORD)
    client = browser()
    assert client.post("/admin/login/", {"username": "admin", "password": PASSWORD}).status_code == 302
    return client


def browser():
    # A 500 comes back as the response a visitor gets, not as the exception.
    return HttpsClient(raise_request_exception=False)


def forge(key, forgery):
    if forgery == "an integer":
        cache.set(key, 6)
        assert cache.incr(key) == 7
    else:
        cache.set(key, FORGERIES[forgery])


@pytest.mark.parametrize("name, forgery", CASES)
def test_a_value_of_another_type_is_a_miss_never_a_500(admin, name, forgery, caplog):
    for task in TASKS:
        Task.objects.create(name=task)
    assert browser().get("/").status_code == 200  # every entry of the list stored
    version = cache.get(keys.LIST_VERSION)
    everything = {label: make(version, admin) for label, make in KEYS.items()}
    stored = [keys.LIST_VERSION, *keys.page_keys(newest_tasks(), version, NEWEST)]
    rows = {keys.task_row(task) for task in load_rows(NEWEST)}  # one of them is forged
    assert set(stored) - rows <= set(everything.values())
    key = everything[name]
    forge(key, forgery)
    # The page is rebuilt, so that every entry under it is read: all but the
    # forged one and the version are gone.
    cache.delete_many([other for other in stored if other not in (key, keys.LIST_VERSION)])
    typed_reads.forget()

    visitor = browser()
    pages = {
        "/": visitor.get("/"),
        "/ again": visitor.get("/"),
        "the login page": browser().get("/admin/login/"),
        "a login": browser().post("/admin/login/?next=/admin/", {"username": "admin", "password": PASSWORD}),
        "the admin index": admin.get("/admin/"),
        "the tasks in the admin": admin.get("/admin/tasks/task/"),
        "the Cache page": admin.get("/admin/cache/"),
    }

    assert {page: response.status_code for page, response in pages.items()} == {
        "/": 200,
        "/ again": 200,
        "the login page": 200,
        "a login": 302,
        "the admin index": 200,
        "the tasks in the admin": 200,
        "the Cache page": 200,
    }
    for page in ("/", "/ again"):
        assert all(f'<span class="task-name">{task}</span>' in pages[page].text for task in TASKS), page
    assert pages["/ again"]["X-Cache"] == "HIT"
    assert pages["a login"]["Location"] == "/admin/"
    assert "Site administration" in pages["the admin index"].text
    assert all(task in pages["the tasks in the admin"].text for task in TASKS)
    assert "Row fragments of the newest page: 2 of 2 tasks." in pages["the Cache page"].text
    assert '<th scope="row">The list fragment</th><td>yes</td>' in pages["the Cache page"].text
    # One log line, however many requests read the forged value.
    unexpected = [record for record in caplog.records if record.name == "tasks.typed_reads"]
    assert len(unexpected) == 1, [record.getMessage() for record in caplog.records]
    assert "treated as a miss" in unexpected[0].getMessage()
    # Replaced, or gone; a session stays a miss until its next save, so
    # that a logout's tombstone is never overwritten (tasks/sessions.py).
    if name != "the admin's session":
        assert cache.get(key) != FORGERIES[forgery]


def test_typed_cache_is_djangos_cache_tag_with_the_same_key_and_alias():
    django_tag = Template("{% load cache %}{% cache 60 frag a b %}first{% endcache %}")
    typed_tag = Template("{% load task_list %}{% typed_cache 60 frag a b %}second{% endtyped_cache %}")
    using = Template('{% load task_list %}{% typed_cache None frag a b using="default" %}third{% endtyped_cache %}')
    context = Context({"a": 1, "b": "two"})
    assert django_tag.render(context) == "first"
    assert typed_tag.render(context) == "first"  # Django's fragment, read back
    cache.set(make_template_fragment_key("frag", [1, "two"]), 7)
    assert typed_tag.render(context) == "second"  # a miss, stored anew
    assert django_tag.render(context) == "second"
    cache.set(make_template_fragment_key("frag", [1, "two"]), ["a", "list"])
    assert using.render(context) == "third"
    assert cache.get(make_template_fragment_key("frag", [1, "two"])) == "third"
