from django.db import models


class Task(models.Model):
    """The app's table (tasks/models.py), read and written, never migrated
    from here: both sites serve the same rows."""

    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        managed = False
        db_table = "tasks_task"
        ordering = ["created_at", "id"]
