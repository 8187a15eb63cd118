from django.shortcuts import redirect, render
from django.views.decorators.cache import cache_page
from django.views.decorators.http import require_POST

from cache_page_site.models import Task


# As Django's docs show it, and nothing more: the page is cached for 15
# minutes whole, the first visitor's CSRF token included (only GETs are
# cached), and nothing invalidates it when a task is added or deleted.
@cache_page(60 * 15)
def index(request):
    if request.method == "POST":
        name = request.POST.get("name", "").strip()
        if name:
            Task.objects.create(name=name[:200])
        return redirect("index")
    return render(request, "cache_page_site/index.html", {"tasks": Task.objects.all()})


@require_POST
def delete(request, task_id):
    Task.objects.filter(pk=task_id).delete()
    return redirect("index")
