"""The app's URLs plus /constant/<bytes>: the constant Django view ceiling."""

from functools import cache

from django.http import HttpResponse
from django.urls import path

from config.urls import urlpatterns as app_urlpatterns


@cache
def constant_body(size):
    """size bytes of plain HTML, built once per size (the bench asks for a few)."""
    line = b"<p>The same bytes for every request, as big as the task page.</p>\n"
    return (line * (size // len(line) + 1))[:size]


def constant(request, size):
    """The same bytes every time, through all the app's middleware: no
    template, no database, no cache. The ceiling for a cached page."""
    return HttpResponse(constant_body(size))


urlpatterns = [path("constant/<int:size>", constant), *app_urlpatterns]
