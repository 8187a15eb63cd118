"""The app's URLs plus /constant/<bytes>: the constant Django view ceiling."""

from django.http import HttpResponse
from django.urls import path

from bench.bare_wsgi import constant_body
from config.urls import urlpatterns as app_urlpatterns


def constant(request, size):
    """The same bytes every time, through all the app's middleware: no
    template, no database, no cache. The ceiling for a cached page."""
    return HttpResponse(constant_body(size))


urlpatterns = [path("constant/<int:size>", constant), *app_urlpatterns]
