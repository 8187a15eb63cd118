"""
The admin's Cache page, for staff: what `manage.py cache_stats` shows per
server, this app's own entries, a chart of hits and misses per server drawn
on the server (inline SVG: no JavaScript, nothing the CSP forbids), and
buttons to clear this app's keys or (superusers only: it reaches other
apps' keys) flush the whole cache, after a confirmation step. Served by
tasks/admin_site.py; it uses tasks/cache_admin.py, as the management
commands do, and works while memcached is down (it says so).
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from tasks import cache_admin

CLEARING = {
    "app": {
        "title": "Clear this app's keys",
        "what": "The task list's version, list, page and fragments. Sessions and other apps' keys stay.",
        "do": cache_admin.clear_app_keys,
        "done": "Cleared this app's keys: {0} of {1} were present.",
        "superuser_only": False,
    },
    "all": {
        "title": "Flush the whole cache",
        # What it does depends on the cache in use: see described().
        "what": {
            "memcached": (
                "memcached's flush_all: every key, other apps' too. Nobody is logged out: sessions are in the database."
            ),
            "file": (
                "Deletes every cache file (*.djcache) in the file cache's folder, {folder}: "
                "every entry, other apps' too if they share the folder. "
                "Nobody is logged out: sessions are in the database."
            ),
        },
        "do": cache_admin.flush_all,
        "done": "Flushed the whole cache.",
        # Other apps sharing the memcached (or the folder) lose their keys
        # too: more than any staff member of this app should be able to do.
        "superuser_only": True,
    },
}
CHART_WIDTH, LABEL_WIDTH, BAR_HEIGHT = 560, 170, 14


def dashboard(request, site_context):
    servers = cache_admin.server_stats()
    context = {
        **site_context,
        "title": "Cache",
        "servers": servers,
        "unreachable": [server["server"] for server in servers if not server["reachable"]],
        "memcached": cache_admin.is_memcached(),
        "app": cache_admin.app_entries(),
        "chart": chart(servers),
        "clearing": allowed(request.user),
    }
    return TemplateResponse(request, "admin/cache.html", context)


def clear(request, scope, site_context):
    action = CLEARING.get(scope)
    if action is None:
        raise Http404("No such way to clear the cache")
    if scope not in allowed(request.user):
        raise PermissionDenied("Only a superuser can flush the whole cache")
    if request.method == "POST" and request.POST.get("confirmed") == "yes":
        done = action["do"]()
        messages.success(request, action["done"].format(*(done or ())))
        return redirect("admin:cache")
    context = {**site_context, "title": action["title"], "action": described(action), "scope": scope}
    return TemplateResponse(request, "admin/cache_clear.html", context)


def allowed(user):
    return {
        scope: described(action)
        for scope, action in CLEARING.items()
        if user.is_superuser or not action["superuser_only"]
    }


def described(action):
    """The action, its "what" said for the cache in use: memcached, or the
    embedded file cache (whose flush deletes files, no flush_all)."""
    what = action["what"]
    if isinstance(what, dict):
        what = what["memcached"] if cache_admin.is_memcached() else what["file"].format(folder=cache_admin.folder())
    return {**action, "what": what}


def chart(servers):
    """Bars of hits and misses per memcached server, scaled to the largest."""
    counted = [server for server in servers if server["kind"] == "memcached" and server["reachable"]]
    if not counted:
        return None
    largest = max(max(server["get_hits"], server["get_misses"]) for server in counted) or 1
    room = CHART_WIDTH - LABEL_WIDTH - 70
    rows = []
    for number, server in enumerate(counted):
        top = 10 + number * (3 * BAR_HEIGHT + 10)
        bars = []
        for offset, (kind, count) in enumerate((("hits", server["get_hits"]), ("misses", server["get_misses"]))):
            y = top + offset * (BAR_HEIGHT + 4)
            width = round(room * count / largest)
            bars.append({"kind": kind, "count": count, "y": y, "width": width, "label_x": LABEL_WIDTH + width + 6})
        rows.append({"server": server["server"], "y": top + BAR_HEIGHT, "bars": bars})
    return {
        "width": CHART_WIDTH,
        "height": 10 + len(counted) * (3 * BAR_HEIGHT + 10),
        "label_width": LABEL_WIDTH,
        "bar_x": LABEL_WIDTH,
        "bar_height": BAR_HEIGHT,
        "rows": rows,
    }
