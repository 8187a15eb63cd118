from django.contrib import admin
from django.urls import include, path

from tasks import admin_cache
from tasks.login_throttle import throttled

urlpatterns = [
    # Before the admin's own login URL: the same view, throttled.
    path("admin/login/", throttled(admin.site.login)),
    # The admin's Cache page, for staff.
    path("admin/cache/", admin.site.admin_view(admin_cache.dashboard), name="cache"),
    path("admin/cache/clear/<str:scope>/", admin.site.admin_view(admin_cache.clear), name="cache-clear"),
    path("admin/", admin.site.urls),
    path("", include("tasks.urls")),
]
