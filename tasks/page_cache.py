"""
The task list page, cached whole and shared by every visitor: a middleware,
like Django's cache middleware, that serves hits, stores misses and puts each
visitor's own CSRF token into the page. The view only renders.

Django's cache_page can't share a page with forms (docs/caching.md, "Per-view
cache"). Here the page is rendered with a CSRF *slot* instead of a token,
stored once as bytes together with the list version it was built from, and
every response gets its visitor's own token put into the slot.

Its place in MIDDLEWARE is right under the middleware that every response
needs (Server-Timing, the security headers, the body limit), above the
session, common and CSRF middleware, URL resolving, the view and any
template: a hit is one get_many (version + page, on one server), zero SQL,
nothing unpickled, and none of the work of the middleware below. What a hit
needs of theirs it does here, with Django's own code: the Host check
(request.get_host), the visitor's CSRF secret and cookie (CsrfViewMiddleware's
process_request and process_response), Content-Length. On a miss the view
renders the list from request.list_version, the version the page will be
stored under, so that the page is never stored under a newer version than
the list it shows.

While the database can't be reached, a page that would need it to be
rebuilt is answered with the one stored for an older version, if any,
flagged as stale on the page and in its headers, and never stored as
current (docs/reliability.md, "The database away").
"""

import time
from functools import cache, lru_cache

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.http import HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.urls import reverse
from django.utils.http import http_date

from memcachier_cache import unacknowledged_writes
from tasks import keys, list_version
from tasks.csrf_token import masked_token
from tasks.database_outage import database_known_down
from tasks.pages import NEWEST, cursor_of
from tasks.server_timing import record_page

# What {% csrf_slot %} renders. Every user-supplied string on the page is
# HTML-escaped, so no task name can produce this raw "<input" markup.
CSRF_SLOT = '<input type="hidden" name="csrfmiddlewaretoken" value="CSRF-SLOT">'
SLOT = CSRF_SLOT.encode()
TOKEN_INPUT = b'<input type="hidden" name="csrfmiddlewaretoken" value="%s">'
NEVER_CACHE = "max-age=0, no-cache, no-store, must-revalidate, private"
# What {% notice_slot %} renders (an HTML comment no escaped name can make),
# and what goes there on a page served from before the latest write.
NOTICE_SLOT = "<!-- notice -->"
NOTICE_SLOT_BYTES = NOTICE_SLOT.encode()
STALE_NOTICE = (
    b'<p class="notice" role="status">The database can\'t be reached right now: this list may be out of date, '
    b"and changes can't be saved. Please try again in a moment.</p>"
)


@cache
def index_path():
    return reverse("tasks:index")


class PageCacheMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        # Django's CSRF middleware, for the two steps a hit needs of it.
        self.csrf = CsrfViewMiddleware(get_response)

    def __call__(self, request):
        if request.path_info != index_path():
            return self.get_response(request)
        # One entry per page of the list; the query string's other
        # parameters are ignored, so they can't make entries of their own.
        cursor = cursor_of(request.GET) if request.META.get("QUERY_STRING") else NEWEST
        why_not = _why_not_shared(request, cursor)
        if why_not:
            record_page(f"bypass: {why_not}")
            return self.personalize(request, self.get_response(request))
        request.get_host()  # DisallowedHost (a 400) before anything is served
        key = keys.index_page(cursor)
        version, stored, older = list_version.read_versioned_or_older(key, bytes, "the page")
        if stored is not None and (page := _page_of(stored)):
            record_page("hit")
            return self.personalized(request, *page)
        older = older and _page_of(older)
        if older and database_known_down():
            # Rebuilding it needs the database: the older page, flagged.
            return self.stale(request, *older)
        request.list_version = version
        # Every write while rebuilding is keyed on, or carries, the version it
        # was built from: one that is lost leaves nothing stale, so none waits
        # for memcached's answer.
        with unacknowledged_writes():
            response = self.get_response(request)
            why_not = "cache unavailable" if version is None else _why_not_stored(request, response)
            if not why_not:
                list_version.store_versioned(key, version, _stored(response.content))
        if older and getattr(response, "database_down", False):
            return self.stale(request, *older)
        record_page(f"miss, not stored: {why_not}" if why_not else "miss")
        return self.personalize(request, response)

    def stale(self, request, slots, content):
        """The page from before the latest write, while the database can't
        be reached: said so on the page, and never stored as current."""
        record_page("stale")
        return self.personalized(request, slots, content.replace(NOTICE_SLOT_BYTES, STALE_NOTICE, 1), "STALE")

    def personalized(self, request, slots, content, cache_status="HIT"):
        """A hit: a response of the cached content (bytes, with this many
        slots) made for this visitor.

        A hit does not send back the CSRF cookie the visitor already sent.
        Django re-sends it with every token only to renew its expiry (a
        year, CSRF_COOKIE_AGE); that Set-Cookie was a tenth of a hit's own
        work. A render still renews it, as get_token does (a page is
        rendered for whoever loads it first after each change to the list).
        A reader who only ever gets hits keeps the cookie until a year after
        it was last set; the next load then sets a new one, and only a form
        left open across that moment is refused, once. A new visitor, or one
        whose cookie is malformed, gets a new cookie on a hit too.
        """
        self.csrf.process_request(request)
        body = _with_token(request, content, slots, renew_cookie=False)
        response = HttpResponse(body, headers={"Content-Length": len(body), "Vary": "Cookie"})
        # (Vary: the body holds a token made from the cookie, as
        # CsrfViewMiddleware says on the responses it sends the cookie with.)
        return self.csrf.process_response(request, _private(response, cache_status))

    def personalize(self, request, response):
        """A rendered page of the list (any response with the slot): the
        visitor's token in the slot, and no one else may store it."""
        if response.streaming or SLOT not in response.content:
            return response
        response.content = _with_token(request, response.content)
        # CommonMiddleware, below, counted the slot; the token is longer.
        response.headers["Content-Length"] = len(response.content)
        return self.csrf.process_response(request, _private(response, "MISS"))


def _with_token(request, content, slots=-1, renew_cookie=True):
    # A masked token is letters and digits only: nothing to escape.
    return content.replace(SLOT, TOKEN_INPUT % masked_token(request, renew_cookie).encode(), slots)


def _stored(content):
    """The page as stored: how many slots it has, then the page. A hit
    fills that many and stops looking: searching the rest of the page for
    one more slot was a twentieth of a hit (the forms are at its top)."""
    return b"%d\n%b" % (content.count(SLOT), content)


def _page_of(stored):
    """(slots, page) of a stored page, or None if it is not one."""
    slots, newline, page = stored.partition(b"\n")
    if not newline or not slots.isdigit():
        return None
    return int(slots), page


def _private(response, cache_status):
    response["X-Cache"] = cache_status
    # What add_never_cache_headers sets on a response without them, set at
    # once (it parses and rebuilds Cache-Control: a tenth of a hit);
    # tests/test_page_cache.py checks they are the same.
    response.headers["Expires"] = _http_date(int(time.time()))
    response.headers["Cache-Control"] = NEVER_CACHE
    return response


@lru_cache(maxsize=1)
def _http_date(second):
    # Formatted once a second, not once a response.
    return http_date(second)


def _why_not_shared(request, cursor):
    """Why this request can't have the shared page, or None if it can."""
    if "page" not in settings.CACHE_LAYERS:
        return "page layer off"
    if cursor is None:
        return "no such page"  # the view says so, with a 404
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
