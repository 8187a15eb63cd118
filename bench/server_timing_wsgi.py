"""
One WSGI app, two Django handlers: the app's, and the same without the
Server-Timing middleware, chosen per request by the bench's own header
X-Bench-Server-Timing: off. For bench/server_timing_cost.py only.

Two servers, one with the middleware and one without, differed by more
than its cost on this shared machine whatever the order of the rounds (as
two identical servers do: each process draws its own hash seed and memory
layout). In one server the only difference left is the middleware itself.
"""

from django.core.wsgi import get_wsgi_application

from bench.costs import SERVER_TIMING, handler_without

timed = get_wsgi_application()
# The middleware's hooks on memcached and database connections stay
# installed; without it they find no request to count for, which costs a
# lookup.
untimed = handler_without({SERVER_TIMING})


def application(environ, start_response):
    handler = untimed if environ.get("HTTP_X_BENCH_SERVER_TIMING") == "off" else timed
    return handler(environ, start_response)
