"""What the browser tests do with a page, and what they watch for."""

import collections
import io
import ipaddress
from pathlib import Path
from urllib.parse import urlsplit

from PIL import Image, ImageChops

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

# What Chromium logs for any document answered with 400, the app's answer to
# an invalid task name. Expected after add_invalid(), a problem anywhere else.
BAD_REQUEST_LOGGED = "Failed to load resource: the server responded with a status of 400 (Bad Request)"


def is_loopback(url):
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True  # never leaves the browser
    host = parts.hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Watch:
    """What the pages of one browser context asked for and complained about."""

    def __init__(self, context):
        self.requests = []
        self.console_errors = []
        self.page_errors = []
        self.expected_console_errors = collections.Counter()
        context.on("request", lambda request: self.requests.append(request.url))
        context.on("console", self._console)
        context.on("weberror", lambda error: self.page_errors.append(str(error.error)))
        # Whatever the assertions say, nothing reaches past loopback.
        context.route(lambda url: not is_loopback(url), lambda route: route.abort("blockedbyclient"))

    def _console(self, message):
        if message.type == "error":
            self.console_errors.append((message.text, (message.location or {}).get("url", "")))

    def expect_console_error(self, text, url):
        self.expected_console_errors[(text, url)] += 1

    def problems(self):
        found = [f"request leaving the machine: {url}" for url in self.requests if not is_loopback(url)]
        expected = self.expected_console_errors.copy()
        for text, url in self.console_errors:
            if expected[(text, url)] > 0:
                expected[(text, url)] -= 1
            else:
                found.append(f"console error: {text} ({url})")
        found += [f"page error: {text}" for text in self.page_errors]
        return found


class Visitor:
    """One person at a browser tab: a context of their own, so their own cookies."""

    def __init__(self, page, watch):
        self.page = page
        self.context = page.context
        self.watch = watch

    def new_tab(self):
        """The same person in a second tab (same cookies)."""
        return Visitor(self.context.new_page(), self.watch)

    # Reading the page as it is now: every action below waits for its load.

    def task_names(self):
        return self.page.locator(".task-name").all_inner_texts()

    def error_messages(self):
        return self.page.get_by_role("alert").all_inner_texts()

    def messages(self):
        return self.page.locator(".message").all_inner_texts()

    def cookie(self, name):
        return next((c["value"] for c in self.context.cookies() if c["name"] == name), None)

    # Acting on it. Each returns the response of the document the tab ends on.

    def open(self, path="/"):
        response = self.page.goto(path)
        assert response.status == 200, f"GET {path}: {response.status}"
        return response

    def reload(self):
        response = self.page.reload()
        assert response.status == 200, f"reload: {response.status}"
        return response

    def submit(self, button):
        with self.page.expect_navigation() as navigation:
            button.click()
        return navigation.value

    def add(self, name):
        self.page.get_by_label("Task name").fill(name)
        response = self.submit(self.page.get_by_role("button", name="Add task"))
        assert_redirected_home(response, f"add {name!r}")
        return response

    def add_invalid(self, name):
        self.page.get_by_label("Task name").fill(name)
        response = self.submit(self.page.get_by_role("button", name="Add task"))
        assert (response.request.method, response.status) == ("POST", 400), (
            f"add {name!r} should be refused with a 400 page, "
            f"got {response.request.method} {response.status} {response.url}"
        )
        self.watch.expect_console_error(BAD_REQUEST_LOGGED, response.url)
        return response

    def delete(self, name):
        button = self.page.get_by_role("button", name=f"Delete task: {name}", exact=True)
        response = self.submit(button)
        assert_redirected_home(response, f"delete {name!r}")
        return response


def assert_redirected_home(response, action):
    """A form POST answered by a redirect to the list, which then loaded."""
    post = response.request.redirected_from
    assert post is not None and post.method == "POST", (
        f"{action}: no redirect after the POST, ended on {response.status} {response.url}"
    )
    post_status = post.response().status
    assert post_status == 302, f"{action}: the POST got {post_status} (403: CSRF failure)"
    assert response.status == 200 and urlsplit(response.url).path == "/", (
        f"{action}: ended on {response.status} {response.url}"
    )


def log_in_to_admin(visitor, user, password, base=""):
    """Log in through the admin's form (of the app at `base`; else the test's app)."""
    visitor.open(f"{base}/admin/")
    visitor.page.get_by_label("Username").fill(user.username)
    visitor.page.get_by_label("Password").fill(password)
    response = visitor.submit(visitor.page.get_by_role("button", name="Log in"))
    assert response.status == 200 and urlsplit(response.url).path == "/admin/", (
        f"login ended on {response.status} {response.url}"
    )
    return response


def overflowing_elements(page):
    """Visible elements that stick out of the viewport sideways, or whose text
    is wider than their box (clipped or spilling): none on a tidy page."""
    return page.evaluate(
        """() => {
        const width = document.documentElement.clientWidth;
        const found = [];
        for (const el of document.body.querySelectorAll("*")) {
            const box = el.getBoundingClientRect();
            if (box.width === 0 || box.height === 0) continue;
            const name = el.tagName.toLowerCase() + (el.className ? "." + el.className : "");
            if (box.left < -0.5 || box.right > width + 0.5) {
                found.push(`${name} spans ${box.left.toFixed(0)}..${box.right.toFixed(0)} px of ${width}`);
            } else if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== "visible") {
                found.push(`${name} clips its content (${el.scrollWidth} > ${el.clientWidth} px)`);
            }
        }
        if (document.documentElement.scrollWidth > width) {
            found.push(`the page scrolls sideways (${document.documentElement.scrollWidth} > ${width} px)`);
        }
        return found;
    }"""
    )


def save_screenshot(visitor, name, changed_pixels_allowed=0.0, **options):
    """Write docs/screenshots/<name>, committed and shown in the README.

    Only of a page that loaded without a problem, and only when the picture
    changed: the same pixels leave the file alone, even if another Chromium
    encodes the PNG differently, so a test run dirties the git tree only when
    the page really looks different (new CSS, other fonts). A page that shows
    live figures (the cache's byte counts) may differ by a few pixels.
    """
    assert visitor.watch.problems() == [], f"no picture of a page with problems: {name}"
    path = SCREENSHOTS / name
    image = visitor.page.screenshot(animations="disabled", caret="hide", **options)
    if not (path.exists() and same_pixels(path.read_bytes(), image, changed_pixels_allowed)):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path.write_bytes(image)
    return path


def same_pixels(png, other_png, changed_allowed=0.0):
    """Whether two PNGs show the same picture (but for that share of its pixels)."""
    first, second = (Image.open(io.BytesIO(data)).convert("RGBA") for data in (png, other_png))
    if first.size != second.size:
        return False
    if not changed_allowed:
        return first.tobytes() == second.tobytes()
    changed = ImageChops.difference(first, second).convert("L").point(lambda value: value > 0).histogram()[1]
    return changed <= changed_allowed * first.size[0] * first.size[1]
