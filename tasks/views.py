from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.views.decorators.http import require_http_methods, require_POST

from tasks import keys, list_version, throttle
from tasks.database_outage import DATABASE_DOWN
from tasks.forms import TaskForm
from tasks.models import Task
from tasks.pages import NEWEST, cursor_of, page_of
from tasks.queries import get_page_rows
from tasks.refusals import RETRY_SOON_SECONDS, refusal
from tasks.throttle import Limit

# The page is cached whole, and gets each visitor's CSRF token, in
# tasks/page_cache.py's middleware: these views only render it.

# Anyone may add and delete tasks, but each write makes every page's
# entries anew: per client, far more than a person makes, far fewer than a
# script would. docs/security.md says why these numbers.
ADD_PER_ADDRESS = Limit("add-address", 30, 10 * 60, "from your address")
ADD_PER_NETWORK = Limit("add-network", 120, 10 * 60, "from your network")  # an IPv6 /48: four /64s' worth
DELETE_PER_ADDRESS = Limit("delete-address", 30, 10 * 60, "from your address")
DELETE_PER_NETWORK = Limit("delete-network", 120, 10 * 60, "from your network")


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
    # Counted before anything else: validation reads the database.
    limit, retry_after = throttle.exceeded(throttle.per_client(request, ADD_PER_ADDRESS, ADD_PER_NETWORK))
    if limit:
        # Unbound, so not validated: the name as typed, given back.
        form = TaskForm(initial={"name": request.POST.get("name", "")})
        why = {"too_many": limit.whose, "when": throttle.in_minutes(retry_after)}
        return not_saved(request, form, 429, retry_after, why)
    form = TaskForm(request.POST)
    try:
        # Validation reads the database too: the model's check constraints.
        if form.is_valid():
            form.save()
            # The newest page, where the new task is, at the top.
            return redirect("tasks:index")
    except DATABASE_DOWN:
        return not_saved(request, form, 503, RETRY_SOON_SECONDS, {"when": "a moment"})
    return render_index(request, form, list_version.list_fragment_version(), NEWEST, status=400)


def not_saved(request, form, status, retry_after, why):
    """A 503 (the database down) or a 429 (too many adds, why["too_many"]
    says whose) that gives the visitor back the form as they typed it, and
    says when to try again (why["when"])."""
    version = list_version.list_fragment_version()
    try:
        response = render_index(request, form, version, NEWEST, status=status, not_saved=why)
    except DATABASE_DOWN:
        # The list was not in the cache either: the form alone.
        response = render_index(request, form, None, NEWEST, status=status, not_saved=why, list_unavailable=True)
    response["Retry-After"] = str(retry_after)
    return response


@require_POST
def delete_task(request, task_id):
    limit, retry_after = throttle.exceeded(throttle.per_client(request, DELETE_PER_ADDRESS, DELETE_PER_NETWORK))
    if limit:
        message = f"Too many tasks were deleted {limit.whose}. Please try again in {throttle.in_minutes(retry_after)}."
        return refusal(request, 429, "Too many deletes", message, retry_after=retry_after)
    task = Task.objects.filter(pk=task_id).first()
    if task is None:
        messages.info(request, "That task was already deleted.")
    else:
        task.delete()
    # Back to the page the visitor was on (the list's form says which).
    return redirect(reverse("tasks:index") + (cursor_of(request.POST) or NEWEST).query)


def render_index(request, form, version, cursor, status=200, not_saved=None, list_unavailable=False):
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
