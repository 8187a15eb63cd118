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

from tasks import cache as keys

# What {% csrf_slot %} renders. Every user-supplied string on the page is
# HTML-escaped, so no task name can produce this raw "<input" markup.
CSRF_SLOT = '<input type="hidden" name="csrfmiddlewaretoken" value="CSRF-SLOT">'


def serve(request, render):
    """The page from the cache, or render(list_version) and store it."""
    if not _shareable(request):
        return personalize(request, render(keys.list_fragment_version()), "MISS")
    version, content = keys.read_versioned(keys.INDEX_PAGE)
    if content is not None:
        return personalize(request, HttpResponse(content), "HIT")
    response = render(version)
    if version is not None and _storable(request, response):
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


def _shareable(request):
    # A pending message (delete of a task that was already gone) belongs to
    # one visitor: render that page for them alone.
    return (
        "page" in settings.CACHE_LAYERS
        and request.method in ("GET", "HEAD")
        and not request.COOKIES.get(CookieStorage.cookie_name)
    )


def _storable(request, response):
    # A page that read the session or set a cookie was made for one visitor.
    session = getattr(request, "session", None)
    return (
        not (session is not None and session.accessed)
        and response.status_code == 200
        and not response.streaming
        and not response.cookies
        and not response.has_header("Vary")
    )
