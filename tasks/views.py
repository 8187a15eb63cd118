from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.views.decorators.http import require_http_methods, require_POST

from tasks import keys, list_version
from tasks.database_outage import DATABASE_DOWN
from tasks.forms import TaskForm
from tasks.models import Task
from tasks.pages import NEWEST, cursor_of, page_of
from tasks.queries import get_page_rows
from tasks.refusals import RETRY_SOON_SECONDS, refusal

# The page is cached whole, and gets each visitor's CSRF token, in
# tasks/page_cache.py's middleware: these views only render it.


@require_http_methods(["GET", "HEAD", "POST"])
def index(request):
    if request.method == "POST":
        return add_task(request)
    cursor = cursor_of(request.GET)
    if cursor is None:
        return refusal(
            request,
            404,
            "No such page of the task list",
            "There is no such page of the task list: its address names no task.",
        )
    return render_index(request, TaskForm(), shown_list_version(request), cursor)


def shown_list_version(request):
    """The list version to render the list from: the one the page cache will
    store the page under, if it will (request.list_version), else the current one."""
    if hasattr(request, "list_version"):
        return request.list_version
    return list_version.list_fragment_version()


def add_task(request):
    form = TaskForm(request.POST)
    try:
        # Validation reads the database too: the model's check constraints.
        if form.is_valid():
            form.save()
            # The newest page, where the new task is, at the top.
            return redirect("tasks:index")
    except DATABASE_DOWN:
        return not_saved(request, form)
    return render_index(request, form, list_version.list_fragment_version(), NEWEST, status=400)


def not_saved(request, form):
    """A 503 that gives the visitor back the form as they typed it."""
    try:
        response = render_index(request, form, list_version.list_fragment_version(), NEWEST, status=503, not_saved=True)
    except DATABASE_DOWN:
        # The list was not in the cache either: the form alone.
        response = render_index(request, form, None, NEWEST, status=503, not_saved=True, list_unavailable=True)
    response["Retry-After"] = str(RETRY_SOON_SECONDS)
    return response


@require_POST
def delete_task(request, task_id):
    task = Task.objects.filter(pk=task_id).first()
    if task is None:
        messages.info(request, "That task was already deleted.")
    else:
        task.delete()
    # Back to the page the visitor was on (the list's form says which).
    return redirect(reverse("tasks:index") + (cursor_of(request.POST) or NEWEST).query)


def render_index(request, form, version, cursor, status=200, not_saved=False, list_unavailable=False):
    context = {
        "form": form,
        "not_saved": not_saved,
        "list_unavailable": list_unavailable,
        # What the list fragment is keyed on; None: the list is not cached.
        "list_fragment_id": version and keys.list_fragment_id(version, cursor),
        "fragment_ttl": keys.TTL_SECONDS,
        "cursor": cursor,
        # Only read when the list fragment is not in the cache.
        "page": SimpleLazyObject(lambda: page_of(cursor, get_page_rows(cursor))),
    }
    return render(request, "tasks/index.html", context, status=status)
