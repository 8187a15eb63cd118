"""
Content-Security-Policy and Permissions-Policy on every response, each built
once, when the server starts.

The policy is Django's own: settings.SECURE_CSP, rendered by
django.utils.csp.build_policy. Django's ContentSecurityPolicyMiddleware
renders it again for every response (for a nonce, which this site's policy
has no use for: no inline script or style anywhere); that was the largest
single cost of a cached page hit (docs/benchmarks.md). A policy that asks for
a nonce is refused at start: use Django's middleware for that.

Like Django's middleware, a header the response already has is kept, and a
view's own policy (django.views.decorators.csp) is honoured.
"""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP, build_policy


class ResponseHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        if _uses_nonce(settings.SECURE_CSP) or _uses_nonce(settings.SECURE_CSP_REPORT_ONLY):
            raise ImproperlyConfigured(
                "SECURE_CSP asks for a nonce, which differs per response: use "
                "django.middleware.csp.ContentSecurityPolicyMiddleware instead of "
                "config.response_headers.ResponseHeadersMiddleware."
            )
        # str(): the names are StrEnum members, which a WSGI server
        # (wsgiref, under runserver) refuses as header names.
        self.policies = {
            str(CSP.HEADER_ENFORCE): build_policy(settings.SECURE_CSP),
            str(CSP.HEADER_REPORT_ONLY): build_policy(settings.SECURE_CSP_REPORT_ONLY),
        }
        self.headers = _present({**self.policies, "Permissions-Policy": settings.PERMISSIONS_POLICY})

    def __call__(self, request):
        response = self.get_response(request)
        headers = self.headers
        if hasattr(response, "_csp_config") or hasattr(response, "_csp_ro_config"):
            headers = self._with_view_policy(response)
        for name, value in headers:
            if name not in response.headers:
                response.headers[name] = value
        return response

    def _with_view_policy(self, response):
        # A view decorated with csp_override or csp_report_only_override: its
        # own policy (an empty one: no header), rendered as Django's would.
        policies = dict(self.policies)
        for name, attribute in VIEW_POLICIES:
            if hasattr(response, attribute):
                policies[name] = build_policy(getattr(response, attribute) or {})
        return _present({**policies, "Permissions-Policy": settings.PERMISSIONS_POLICY})


VIEW_POLICIES = ((str(CSP.HEADER_ENFORCE), "_csp_config"), (str(CSP.HEADER_REPORT_ONLY), "_csp_ro_config"))


def _present(headers):
    return tuple((name, value) for name, value in headers.items() if value)


def _uses_nonce(config):
    return any(values == CSP.NONCE or CSP.NONCE in values for values in (config or {}).values() if values)
