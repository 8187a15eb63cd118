from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    # The admin site is tasks.admin_site.TasksAdminSite (INSTALLED_APPS).
    path("admin/", admin.site.urls),
    path("", include("tasks.urls")),
]
