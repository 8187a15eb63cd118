"""
A strict Content-Security-Policy (django-csp) and a Permissions-Policy on
every response: the task list, the cached page, the admin, and the 404, 413,
429, 500 and 503 pages. The browser tests fail on any CSP violation
(tests/browser/).
"""

import pytest
from django.test import override_settings

from tests.conftest import HttpsClient

pytestmark = pytest.mark.django_db(transaction=True)

POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}


def policy_of(response):
    header = response["Content-Security-Policy"]
    return dict(directive.strip().split(" ", 1) for directive in header.split(";"))


def assert_protected(response):
    assert policy_of(response) == POLICY
    assert "camera=()" in response["Permissions-Policy"]
    assert "geolocation=()" in response["Permissions-Policy"]


def test_the_task_list_fresh_and_from_the_cache(client):
    for expected in ("MISS", "HIT"):
        response = client.get("/")
        assert response["X-Cache"] == expected
        assert_protected(response)


def test_the_admin(client, admin_user):
    assert_protected(client.get("/admin/login/"))
    client.force_login(admin_user)
    assert_protected(client.get("/admin/"))
    assert_protected(client.get("/admin/tasks/task/add/"))


def test_the_error_pages(client, settings):
    assert_protected(client.get("/no-such-page"))
    too_large = client.post("/", {"name": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)})
    assert too_large.status_code == 413
    assert_protected(too_large)


@override_settings(ROOT_URLCONF="tests.failing_urls")
def test_the_500_page():
    client = HttpsClient()
    client.raise_request_exception = False
    response = client.get("/boom")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()
    assert_protected(response)
