"""
Per-view caching of the task list page, shared by every visitor.

Django's cache_page can't share a page with forms (the CSRF token makes it
store one copy per cookie, or leak the first visitor's token) and costs two
gets per hit. Here the page is rendered with a CSRF *slot* instead of a token,
stored once together with the list version it was built from, and every
response gets its visitor's own token put into the slot. A hit is one get_many
(version + page, on one server), zero SQL.
"""

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.utils.cache import add_never_cache_headers
from django.utils.html import format_html

from config.server_timing import record_page
from tasks import cache as keys

# What {% csrf_slot %} renders. Every user-supplied string on the page is
# HTML-escaped, so no task name can produce this raw "<input" markup.
CSRF_SLOT = '<input type="hidden" name="csrfmiddlewaretoken" value="CSRF-SLOT">'


def serve(request, render):
    """The page from the cache, or render(list_version) and store it."""
    why_not = _why_not_shared(request)
    if why_not:
        record_page(f"bypass: {why_not}")
        return personalize(request, render(keys.list_fragment_version()), "MISS")
    version, content = keys.read_versioned(keys.INDEX_PAGE)
    if content is not None:
        record_page("hit")
        return personalize(request, HttpResponse(content), "HIT")
    response = render(version)
    why_not = "cache unavailable" if version is None else _why_not_stored(request, response)
    if why_not:
        record_page(f"miss, not stored: {why_not}")
    else:
        record_page("miss")
        keys.store_versioned(keys.INDEX_PAGE, version, response.content)
    return personalize(request, response, "MISS")


def personalize(request, response, cache_status="MISS"):
    """Fill the CSRF slot with this visitor's token; never let others store it."""
    if CSRF_SLOT.encode() in response.content:
        token_input = format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', get_token(request))
        response.content = response.content.replace(CSRF_SLOT.encode(), token_input.encode())
    response["X-Cache"] = cache_status
    add_never_cache_headers(response)
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
