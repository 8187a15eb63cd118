"""
The Content-Security-Policy holds in a real browser: no page of the site
breaks it (the task list, the cached page, the admin, the 404 page), and a
violation fails the test that meets it.

Every browser test already fails on a console error, which is how Chromium
reports a violation; here the page also records each `securitypolicyviolation`
event, the browser's own account of what it blocked.
"""

import pytest

pytestmark = pytest.mark.django_db(transaction=True)

RECORD_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation",
    (event) => window.cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`));
"""
NOT_FOUND_LOGGED = "Failed to load resource: the server responded with a status of 404 (Not Found)"


def violations(visitor):
    return visitor.page.evaluate("window.cspViolations")


def test_no_page_of_the_site_breaks_the_policy(admin_visitor):
    admin_visitor.context.add_init_script(RECORD_VIOLATIONS)
    pages = ["/", "/", "/admin/", "/admin/tasks/task/", "/admin/tasks/task/add/", "/admin/auth/user/"]
    for path in pages:
        admin_visitor.open(path)
        assert violations(admin_visitor) == [], path
    response = admin_visitor.page.goto("/no-such-page")
    assert response.status == 404
    admin_visitor.watch.expect_console_error(NOT_FOUND_LOGGED, response.url)
    assert violations(admin_visitor) == []


def test_an_injected_inline_script_or_style_is_blocked_and_reported(visitor):
    visitor.context.add_init_script(RECORD_VIOLATIONS)
    visitor.open()
    page = visitor.page
    page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "window.injected = true";
            document.body.append(script);
            const style = document.createElement("style");
            style.textContent = "body { background: red }";
            document.head.append(style);
        }"""
    )
    assert page.evaluate("window.injected") is None  # never ran
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") != "rgb(255, 0, 0)"
    assert sorted(v.split()[0] for v in violations(visitor)) == ["script-src-elem", "style-src-elem"]
    # The watch that every browser test has saw them too; this test expects them.
    reported = visitor.watch.console_errors
    assert len([text for text, _ in reported if "Content Security Policy" in text]) == 2
    reported.clear()
