"""
One WSGI app, two Django handlers: the app's, and the same without the
Server-Timing middleware, chosen per request by the bench's own header
X-Bench-Server-Timing: off. For bench/server_timing_cost.py only.

Two servers, one with the middleware and one without, differed by more
than its cost on this shared machine whatever the order of the rounds (as
two identical servers do: each process draws its own hash seed and memory
layout). In one server the only difference left is the middleware itself.
"""

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.test.utils import override_settings

from bench.costs import SERVER_TIMING

timed = get_wsgi_application()
# The handler reads MIDDLEWARE once, when it is made. (The middleware's
# hooks on memcached and database connections stay installed; without it
# they find no request to count for, which costs a lookup.)
with override_settings(MIDDLEWARE=[name for name in settings.MIDDLEWARE if name != SERVER_TIMING]):
    untimed = get_wsgi_application()


def application(environ, start_response):
    handler = untimed if environ.get("HTTP_X_BENCH_SERVER_TIMING") == "off" else timed
    return handler(environ, start_response)
