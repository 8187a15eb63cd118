"""
The admin site of this project: Django's, with a throttled login
(tasks/login_throttle.py) and the Cache page (tasks/admin_cache.py).
TasksAdminConfig (tasks/apps.py) makes it the default site, so
`admin.site.urls` in config/urls.py serves it all.
"""

from django.contrib import admin
from django.urls import path

from tasks import admin_cache
from tasks.login_throttle import throttled


class TasksAdminSite(admin.AdminSite):
    def login(self, request, extra_context=None):
        return throttled(super().login)(request, extra_context)

    def get_urls(self):
        return [
            path("cache/", self.admin_view(self.cache), name="cache"),
            path("cache/clear/<str:scope>/", self.admin_view(self.cache_clear), name="cache-clear"),
            *super().get_urls(),
        ]

    def cache(self, request):
        return admin_cache.dashboard(request, self.each_context(request))

    def cache_clear(self, request, scope):
        return admin_cache.clear(request, scope, self.each_context(request))
