from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.functional import SimpleLazyObject
from django.views.decorators.http import require_http_methods, require_POST

from tasks import cache as keys
from tasks import page_cache
from tasks.forms import TaskForm
from tasks.models import Task
from tasks.queries import get_all_tasks


@require_http_methods(["GET", "HEAD", "POST"])
def index(request):
    if request.method == "POST":
        return add_task(request)
    return page_cache.serve(request, lambda version: render_index(request, TaskForm(), version))


def add_task(request):
    form = TaskForm(request.POST)
    if form.is_valid():
        form.save()
        return redirect("tasks:index")
    response = render_index(request, form, keys.list_fragment_version(), status=400)
    return page_cache.personalize(request, response)


@require_POST
def delete_task(request, task_id):
    task = Task.objects.filter(pk=task_id).first()
    if task is None:
        messages.info(request, "That task was already deleted.")
    else:
        task.delete()
    return redirect("tasks:index")


def render_index(request, form, list_version, status=200):
    context = {
        "form": form,
        # What the list fragment is keyed on; None: the list is not cached.
        "list_fragment_id": list_version and keys.list_fragment_id(list_version),
        "fragment_ttl": keys.TTL_SECONDS,
        # Only read when the list fragment is not in the cache.
        "tasks": SimpleLazyObject(get_all_tasks),
    }
    return render(request, "tasks/index.html", context, status=status)
