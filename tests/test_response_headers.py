"""
A strict Content-Security-Policy (Django's SECURE_CSP) and a
Permissions-Policy on every response: the task list, the cached page, the
admin, and the 404, 413, 429, 500 and 503 pages; each header built once
(config/response_headers.py). The browser tests fail on any CSP violation
(tests/browser/).
"""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.middleware.csp import ContentSecurityPolicyMiddleware
from django.test import RequestFactory, override_settings
from django.utils.csp import CSP
from django.views.decorators.csp import csp_override, csp_report_only_override

from config import response_headers
from config.response_headers import ResponseHeadersMiddleware
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


def test_the_policy_is_the_one_django_own_middleware_sends():
    request = RequestFactory().get("/")
    ours = ResponseHeadersMiddleware(lambda request: HttpResponse())(request)
    django = ContentSecurityPolicyMiddleware(lambda request: HttpResponse())(request)
    assert ours["Content-Security-Policy"] == django["Content-Security-Policy"]
    assert "Content-Security-Policy-Report-Only" not in ours  # SECURE_CSP_REPORT_ONLY is empty


def test_the_headers_are_built_once_not_per_response(monkeypatch):
    middleware = ResponseHeadersMiddleware(lambda request: HttpResponse())
    built = []
    monkeypatch.setattr(response_headers, "build_policy", lambda *args: built.append(args) or "")
    for _ in range(3):
        assert middleware(RequestFactory().get("/"))["Content-Security-Policy"].startswith("default-src")
    assert built == []


def test_a_header_the_response_has_is_kept():
    def view(request):
        return HttpResponse(headers={"Content-Security-Policy": "default-src 'none'", "Permissions-Policy": "camera=*"})

    response = ResponseHeadersMiddleware(view)(RequestFactory().get("/"))
    assert response["Content-Security-Policy"] == "default-src 'none'"
    assert response["Permissions-Policy"] == "camera=*"


def test_a_view_own_policy_is_honoured_as_django_would():
    enforced = csp_override({"default-src": [CSP.NONE]})(lambda request: HttpResponse())
    assert ResponseHeadersMiddleware(enforced)(RequestFactory().get("/"))["Content-Security-Policy"] == (
        "default-src 'none'"
    )
    switched_off = csp_override({})(lambda request: HttpResponse())
    assert "Content-Security-Policy" not in ResponseHeadersMiddleware(switched_off)(RequestFactory().get("/"))
    reported = csp_report_only_override({"img-src": [CSP.SELF]})(lambda request: HttpResponse())
    response = ResponseHeadersMiddleware(reported)(RequestFactory().get("/"))
    assert response["Content-Security-Policy-Report-Only"] == "img-src 'self'"
    assert response["Content-Security-Policy"].startswith("default-src 'self'")


def test_a_policy_with_a_nonce_is_refused_at_start(settings):
    settings.SECURE_CSP = {"script-src": [CSP.SELF, CSP.NONCE]}
    with pytest.raises(ImproperlyConfigured, match="nonce"):
        ResponseHeadersMiddleware(lambda request: HttpResponse())
