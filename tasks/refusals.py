"""
A refusal that says what happened (templates/refusal.html): no such page of
the task list (404), a body too large (413), too many failed logins or
deletes (429, tasks/throttle.py), a logout or a write the app can't make
right now (503), with Retry-After where trying again will help. (A refused
add gets the task list page back instead, with what was typed: tasks/views.py.)
"""

from django.shortcuts import render

# What a 503 tells a client to wait before trying again: a cache or a
# database that is restarting is usually back within seconds.
RETRY_SOON_SECONDS = 10


def refusal(request, status, title, message, retry_after=None):
    response = render(request, "refusal.html", {"title": title, "message": message}, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response
