from django.contrib import admin

from tasks.forms import TaskForm
from tasks.models import Task


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    # The public form's validation (no blank names, no control characters)
    # applies in the admin too.
    form = TaskForm
    list_display = ["name", "created_at", "updated_at"]
    search_fields = ["name"]
    readonly_fields = ["created_at", "updated_at"]
