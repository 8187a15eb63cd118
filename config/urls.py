from django.contrib import admin
from django.urls import include, path

from tasks.login_throttle import throttled

urlpatterns = [
    # Before the admin's own login URL: the same view, throttled.
    path("admin/login/", throttled(admin.site.login)),
    path("admin/", admin.site.urls),
    path("", include("tasks.urls")),
]
