"""The app's URLs plus /boom, a view that fails: for tests of the 500 page."""

from django.urls import path

from config.urls import urlpatterns as app_urlpatterns


def boom(request):
    raise RuntimeError("a bug")


urlpatterns = [path("boom", boom), *app_urlpatterns]
