"""
End-to-end tests in a real browser: Debian's headless Chromium, driven by
Playwright (pytest-playwright), against the app under gunicorn on loopback
(the `app_server` fixture: real PostgreSQL and memcached).

No browser is downloaded: Playwright launches the `chromium` program that
`python -m harness.services packages` installs. CHROMIUM_PATH overrides it.

Every page is watched (see Watch): a console error, an uncaught JavaScript
error or a request for anything but loopback fails the test.

Playwright's browser fixtures are package-scoped here, not session-scoped as
in pytest-playwright: its sync API marks an asyncio loop as running in the
main thread for as long as Playwright runs, and Django refuses ORM calls then
(SynchronousOnlyOperation). Playwright stops when the last browser test is
done, so the tests that run after these ones see a plain thread again. Until
then DJANGO_ALLOW_ASYNC_UNSAFE lets the browser tests (and pytest-django's
database flush between them) use the ORM: they are synchronous code.
"""

import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from .browsing import DESKTOP, Visitor, Watch, log_in_to_admin

CHROMIUM_ARGS = [
    "--no-sandbox",  # root in a container or CI has no user namespaces
    "--disable-gpu",
    "--disable-dev-shm-usage",  # containers often have a tiny /dev/shm
    # Nothing but the page's own requests: no updates, sync, QUIC probes,
    # safe browsing or field trials, which would all go to Google.
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-features=OptimizationHints,MediaRouter,Translate,AutofillServerCommunication",
]


def chromium_path():
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail(
            f"No Chromium at {path}. Install Debian's chromium package "
            "(python -m harness.services packages) or set CHROMIUM_PATH."
        )
    return path


@pytest.fixture(scope="package", autouse=True)
def _orm_beside_playwright():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="package")
def playwright():
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser_type_launch_args(pytestconfig):
    return {
        "executable_path": chromium_path(),
        "headless": not pytestconfig.getoption("--headed"),
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(scope="package")
def browser_type(playwright):
    return playwright.chromium


@pytest.fixture(scope="package")
def browser(browser_type, browser_type_launch_args):
    browser = browser_type.launch(**browser_type_launch_args)
    yield browser
    browser.close()


@pytest.fixture(scope="package")
def browser_context_args(pytestconfig, app_server, _pw_artifacts_folder):
    args = {
        "base_url": app_server.url,
        "locale": "en-US",
        "timezone_id": "UTC",
        "color_scheme": "light",
    }
    if pytestconfig.getoption("--video") in ("on", "retain-on-failure"):
        args["record_video_dir"] = _pw_artifacts_folder.name
    return args


@pytest.fixture
def live_app(transactional_db, app_server):
    """The app under gunicorn; the test's own database writes are committed.

    Its workers are new for each test. The flush after each transactional
    test re-creates the content types with new ids, while a worker keeps the
    old ones in Django's ContentType cache: its next admin edit would then log
    a LogEntry for a content type that no longer exists (500, foreign key).
    """
    return app_server.restart_workers()


@pytest.fixture
def open_visitor(live_app, new_context):
    """open_visitor(**context_args) -> Visitor, a new browser context each.

    After the test, every context must have made no request off loopback and
    logged no console or page error.
    """
    watches = []

    def open_(**context_args):
        context = new_context(**{"viewport": DESKTOP, **context_args})
        watch = Watch(context)
        watches.append(watch)
        return Visitor(context.new_page(), watch)

    yield open_
    problems = [problem for watch in watches for problem in watch.problems()]
    assert not problems, "the browser saw problems:\n" + "\n".join(problems)


@pytest.fixture
def visitor(open_visitor):
    return open_visitor()


@pytest.fixture
def admin_visitor(open_visitor):
    """A visitor logged in to the admin as a superuser made by the test
    (committed, so gunicorn's workers see it)."""
    from django.contrib.auth.models import User

    password = "correct-horse-battery-staple-42"
    user = User.objects.create_superuser("admin", "admin@example.com", password)
    visitor = open_visitor()
    log_in_to_admin(visitor, user, password)
    return visitor
