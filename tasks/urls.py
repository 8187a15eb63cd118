from django.templatetags.static import static
from django.urls import path
from django.utils.cache import patch_cache_control
from django.views.generic import RedirectView

from tasks import views


class FaviconView(RedirectView):
    """/favicon.ico, which browsers ask for on a page that links no icon:
    the site's SVG icon (whitenoise serves it, under its hashed name).

    A temporary redirect kept for a day, not a permanent one: a browser keeps
    a 301 for good, and the hashed name changes with the icon while the old
    one stops being served (WHITENOISE_KEEP_ONLY_HASHED_FILES)."""

    permanent = False

    def get_redirect_url(self, *args, **kwargs):
        return static("tasks/favicon.svg")

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        patch_cache_control(response, public=True, max_age=24 * 60 * 60)
        return response


app_name = "tasks"
urlpatterns = [
    path("", views.index, name="index"),
    path("<int:task_id>/delete", views.delete_task, name="delete"),
    path("favicon.ico", FaviconView.as_view(), name="favicon"),
]
