from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.functional import SimpleLazyObject
from django.views.decorators.http import require_http_methods, require_POST

from tasks import keys, list_version, throttle
from tasks.database_outage import DATABASE_DOWN
from tasks.forms import TaskForm
from tasks.models import Task
from tasks.queries import get_all_tasks
from tasks.refusals import RETRY_SOON_SECONDS, refusal
from tasks.throttle import Limit

# The page is cached whole, and gets each visitor's CSRF token, in
# tasks/page_cache.py's middleware: these views only render it.

# Anyone may add and delete tasks, but each write stores a new copy of the
# list in the cache: per client, far more than a person makes, far fewer
# than a script would. docs/security.md says why these numbers.
ADD_PER_ADDRESS = Limit("add-address", 30, 10 * 60, "from your address")
ADD_PER_NETWORK = Limit("add-network", 120, 10 * 60, "from your network")  # an IPv6 /48: four /64s' worth
DELETE_PER_ADDRESS = Limit("delete-address", 30, 10 * 60, "from your address")
DELETE_PER_NETWORK = Limit("delete-network", 120, 10 * 60, "from your network")


@require_http_methods(["GET", "HEAD", "POST"])
def index(request):
    if request.method == "POST":
        return add_task(request)
    return render_index(request, TaskForm(), shown_list_version(request))


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
            return redirect("tasks:index")
    except DATABASE_DOWN:
        return not_saved(request, form, 503, RETRY_SOON_SECONDS, {"when": "a moment"})
    return render_index(request, form, list_version.list_fragment_version(), status=400)


def not_saved(request, form, status, retry_after, why):
    """A 503 (the database down) or a 429 (too many adds, why["too_many"]
    says whose) that gives the visitor back the form as they typed it, and
    says when to try again (why["when"])."""
    try:
        response = render_index(request, form, list_version.list_fragment_version(), status=status, not_saved=why)
    except DATABASE_DOWN:
        # The list was not in the cache either: the form alone.
        response = render_index(request, form, None, status=status, not_saved=why, list_unavailable=True)
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
    return redirect("tasks:index")


def render_index(request, form, version, status=200, not_saved=None, list_unavailable=False):
    context = {
        "form": form,
        "not_saved": not_saved,
        "list_unavailable": list_unavailable,
        # What the list fragment is keyed on; None: the list is not cached.
        "list_fragment_id": version and keys.list_fragment_id(version),
        "fragment_ttl": keys.TTL_SECONDS,
        # Only read when the list fragment is not in the cache.
        "tasks": SimpleLazyObject(get_all_tasks),
    }
    return render(request, "tasks/index.html", context, status=status)
