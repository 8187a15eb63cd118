"""
The task list page, cached whole and shared by every visitor: a middleware,
like Django's cache middleware, that serves hits, stores misses and puts each
visitor's own CSRF token into the page. The view only renders.

Django's cache_page can't share a page with forms (docs/caching.md, "Per-view
cache"). Here the page is rendered with a CSRF *slot* instead of a token,
stored once as bytes together with the list version it was built from, and
every response gets its visitor's own token put into the slot.

Its place in MIDDLEWARE is after Django's session, common and CSRF middleware
(whose work a response needs: Content-Length, the visitor's CSRF cookie), and
before URL resolving, the view and any template: a hit is one get_many
(version + page, on one server), zero SQL, nothing unpickled. On a miss the
view renders the list from request.list_version, the version the page will
be stored under, so that the page is never stored under a newer version than
the list it shows.
"""

from functools import cache

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.http import HttpResponse
from django.urls import reverse
from django.utils.http import http_date

from memcachier_cache import unacknowledged_writes
from tasks import keys, list_version
from tasks.csrf_token import masked_token
from tasks.server_timing import record_page

# What {% csrf_slot %} renders. Every user-supplied string on the page is
# HTML-escaped, so no task name can produce this raw "<input" markup.
CSRF_SLOT = '<input type="hidden" name="csrfmiddlewaretoken" value="CSRF-SLOT">'
SLOT = CSRF_SLOT.encode()
TOKEN_INPUT = b'<input type="hidden" name="csrfmiddlewaretoken" value="%s">'
NEVER_CACHE = "max-age=0, no-cache, no-store, must-revalidate, private"


@cache
def index_path():
    return reverse("tasks:index")


class PageCacheMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info != index_path():
            return self.get_response(request)
        why_not = _why_not_shared(request)
        if why_not:
            record_page(f"bypass: {why_not}")
            return personalize(request, self.get_response(request))
        version, content = list_version.read_versioned(keys.INDEX_PAGE)
        if content is not None:
            record_page("hit")
            return personalized(request, content)
        request.list_version = version
        # Every write while rebuilding is keyed on, or carries, the version it
        # was built from: one that is lost leaves nothing stale, so none waits
        # for memcached's answer.
        with unacknowledged_writes():
            response = self.get_response(request)
            why_not = "cache unavailable" if version is None else _why_not_stored(request, response)
            if not why_not:
                list_version.store_versioned(keys.INDEX_PAGE, version, response.content)
        record_page(f"miss, not stored: {why_not}" if why_not else "miss")
        return personalize(request, response)


def personalized(request, content):
    """A hit: a response of the cached content (bytes) made for this visitor.

    A hit does not send back the CSRF cookie the visitor already sent.
    Django re-sends it with every token only to renew its expiry (a year,
    CSRF_COOKIE_AGE); that Set-Cookie was a tenth of a hit's own work. A
    render still renews it, as get_token does (a page is rendered for
    whoever loads it first after each change to the list). A reader who
    only ever gets hits keeps the cookie until a year after it was last
    set; the next load then sets a new one, and only a form left open
    across that moment is refused, once. A new visitor, or one whose cookie
    is malformed, gets a new cookie on a hit too.
    """
    response = HttpResponse(_with_token(request, content, renew_cookie=False))
    # The body holds a token made from the cookie (CsrfViewMiddleware says
    # so on the responses it sends the cookie with).
    response.headers["Vary"] = "Cookie"
    return _private(response, "HIT")


def personalize(request, response):
    """A rendered page of the list (any response with the slot): the
    visitor's token in the slot, and no one else may store it."""
    if response.streaming or SLOT not in response.content:
        return response
    response.content = _with_token(request, response.content)
    return _private(response, "MISS")


def _with_token(request, content, renew_cookie=True):
    # A masked token is letters and digits only: nothing to escape.
    return content.replace(SLOT, TOKEN_INPUT % masked_token(request, renew_cookie).encode())


def _private(response, cache_status):
    response["X-Cache"] = cache_status
    # What add_never_cache_headers sets on a response without them, set at
    # once (it parses and rebuilds Cache-Control: a tenth of a hit);
    # tests/test_page_cache.py checks they are the same.
    response.headers["Expires"] = http_date()
    response.headers["Cache-Control"] = NEVER_CACHE
    return response


def _why_not_shared(request):
    """Why this request can't have the shared page, or None if it can."""
    if "page" not in settings.CACHE_LAYERS:
        return "page layer off"
    if request.method not in ("GET", "HEAD"):
        return request.method
    # A pending message (delete of a task that was already gone) belongs to
    # one visitor: render that page for them alone.
    if request.COOKIES.get(CookieStorage.cookie_name):
        return "a message to show"
    return None


def _why_not_stored(request, response):
    """Why this response can't be shared, or None if it can."""
    # A page that read the session or set a cookie was made for one visitor.
    session = getattr(request, "session", None)
    if session is not None and session.accessed:
        return "session read"
    if response.status_code != 200 or response.streaming:
        return f"status {response.status_code}"
    if response.cookies or response.has_header("Vary"):
        return "made for one visitor"
    return None
