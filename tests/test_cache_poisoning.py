"""
Nothing a request sends can change what others see: the shared page and the
row fragments are the same whatever the request that rendered them said.

The app runs under gunicorn trusting forwarded headers from anyone
(FORWARDED_ALLOW_IPS='*', as Heroku's Python buildpack sets it). A hostile
request renders and stores the page first; then a plain visitor gets it
from the cache, and after the next write, gets rows rebuilt from the
fragments that request stored. Every URL on both must be the app's own.
"""

import re

import pytest
from django.core.cache import cache

from harness.visitor import Visitor
from tasks.models import Task

pytestmark = pytest.mark.django_db(transaction=True)

URLS = re.compile(r'(?:href|action|src)="([^"]*)"')

HOSTILE = {
    # gunicorn copies this header into the WSGI environ for trusted proxies,
    # and Django would put it in front of every URL.
    "SCRIPT_NAME /evil": ("/evil/", {"SCRIPT_NAME": "/evil"}),
    # The shared add form would post to the admin's logout.
    "SCRIPT_NAME /admin/logout": ("/admin/logout/", {"SCRIPT_NAME": "/admin/logout"}),
    "X-Forwarded-Host": ("/", {"X-Forwarded-Host": "evil.example"}),
    "X-Forwarded-Prefix": ("/", {"X-Forwarded-Prefix": "/evil"}),
    "X-Script-Name": ("/", {"X-Script-Name": "/evil"}),
    "X-Forwarded-Proto": ("/", {"X-Forwarded-Proto": "http"}),
    "X-Forwarded-Port": ("/", {"X-Forwarded-Port": "8443"}),
    "Host localhost": ("/", {"Host": "localhost"}),
    "Host evil.example": ("/", {"Host": "evil.example"}),
}


@pytest.fixture(params=["gunicorn as configured", "gunicorn forwarding SCRIPT_NAME"])
def app(request, start_app):
    env = {"FORWARDED_ALLOW_IPS": "*"}
    if request.param == "gunicorn forwarding SCRIPT_NAME":
        # config/gunicorn.py drops the header; Django's FORCE_SCRIPT_NAME
        # must hold on its own, for a project that changes that.
        env["GUNICORN_CMD_ARGS"] = "--forwarder-headers=SCRIPT_NAME,PATH_INFO"
    return start_app(env)


def urls_on(page):
    return sorted(set(URLS.findall(page.text)))


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_hostile_request_changes_nothing_the_next_visitor_sees(app, hostile):
    task = Task.objects.create(name="shared")
    canonical = Visitor(app.url).get()
    assert canonical.headers["X-Cache"] == "MISS"
    expected = urls_on(canonical)
    assert f"/{task.pk}/delete" in expected and "/" in expected

    cache.clear()  # the hostile request renders and stores everything
    path, headers = HOSTILE[hostile]
    attack = Visitor(app.url).request("GET", path, headers=headers)
    assert attack.status < 500

    page = Visitor(app.url).get()
    if attack.status == 200:
        assert page.headers["X-Cache"] == "HIT"  # what the attack stored
    assert urls_on(page) == expected

    # The next write rebuilds the list from the row fragments it stored.
    visitor = Visitor(app.url)
    assert visitor.post("/", {"name": "after the attack"}).status == 302
    rebuilt = visitor.get()
    assert rebuilt.headers["X-Cache"] == "MISS"
    added = Task.objects.get(name="after the attack")
    assert urls_on(rebuilt) == sorted({*expected, f"/{added.pk}/delete"})
