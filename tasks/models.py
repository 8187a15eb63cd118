from django.db import models
from django.db.models.functions import Length, Now, Trim
from django.db.models.lookups import GreaterThan, LessThanOrEqual
from django.utils import timezone

from tasks.invalidation import invalidate_task_list

NAME_MAX_LENGTH = 200


class TaskQuerySet(models.QuerySet):
    """Bulk writes send no post_save/post_delete, so they invalidate here.

    QuerySet.delete() (the admin's "delete selected") needs nothing: while
    post_delete has receivers, Django sends it for every deleted row.
    """

    def update(self, **kwargs):
        # Row fragments are keyed on updated_at: a bulk update must move it too.
        kwargs.setdefault("updated_at", Now())
        rows = super().update(**kwargs)
        invalidate_task_list(using=self.db)
        return rows

    def bulk_create(self, objs, *args, **kwargs):
        created = super().bulk_create(objs, *args, **kwargs)
        invalidate_task_list(using=self.db)
        return created

    def bulk_update(self, objs, fields, *args, **kwargs):
        now = timezone.now()
        for obj in objs:
            obj.updated_at = now
        fields = {*fields, "updated_at"}
        rows = super().bulk_update(objs, fields, *args, **kwargs)
        invalidate_task_list(using=self.db)
        return rows


class Task(models.Model):
    name = models.CharField(max_length=NAME_MAX_LENGTH)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TaskQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # The form strips and checks names; the database refuses blank
            # ones from any other path (shell, raw bulk loads) as well.
            models.CheckConstraint(
                condition=GreaterThan(Length(Trim("name")), 0),
                name="task_name_not_blank",
            ),
            # SQLite ignores varchar lengths; this holds on every database.
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("name"), NAME_MAX_LENGTH),
                name="task_name_max_length",
            ),
        ]

    def __str__(self):
        return self.name
