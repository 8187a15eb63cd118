from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db.models.signals import post_delete, post_save


class TasksConfig(AppConfig):
    name = "tasks"
    default = True  # this module has two AppConfigs

    def ready(self):
        from tasks.invalidation import task_deleted, task_saved

        # Connect only; never touch the cache here: with gunicorn's preload
        # the socket would be shared by forked workers.
        post_save.connect(task_saved, sender="tasks.Task", dispatch_uid="tasks.saved")
        post_delete.connect(task_deleted, sender="tasks.Task", dispatch_uid="tasks.deleted")


class TasksAdminConfig(admin_apps.AdminConfig):
    """Django's admin, with this project's site (throttled login, Cache page)."""

    default = False
    default_site = "tasks.admin_site.TasksAdminSite"
