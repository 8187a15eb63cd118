"""
The bare WSGI ceiling: no Django, same gunicorn config. GET /constant/<bytes>
returns a body of that many bytes, like the constant Django view in
bench/urls.py: what gunicorn alone can serve on this machine.
"""

from functools import cache


@cache
def constant_body(size):
    """size bytes of plain HTML, built once per size (the bench asks for a few)."""
    line = b"<p>The same bytes for every request, as big as the task page.</p>\n"
    return (line * (size // len(line) + 1))[:size]


def application(environ, start_response):
    size = int(environ.get("PATH_INFO", "").rsplit("/", 1)[-1] or 0)
    body = constant_body(size)
    start_response(
        "200 OK",
        [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))],
    )
    return [body]
