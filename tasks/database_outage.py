"""
The database away: PostgreSQL restarting, failing over, or a host that
stopped answering. docs/reliability.md ("The database away") says what a
visitor sees.

A request the database can't serve gets a 503 that says so, with
Retry-After, not a 500. A page of the list the cache holds, even from before
the latest write, is served from it meanwhile, flagged (tasks/page_cache.py);
a task the visitor was adding is given back to them by tasks/views.py.

And nobody waits on a database known to be down: after a connection fails,
this process makes no new connection for requests (tasks/postgresql/ asks
the gate below), and one thread of its own probes until one succeeds.
"""

import logging
import os
import threading
import time

from django.db import InterfaceError, OperationalError

from tasks.refusals import RETRY_SOON_SECONDS, refusal

logger = logging.getLogger(__name__)
# The database can't be reached: down, restarting, a dropped connection.
DATABASE_DOWN = (OperationalError, InterfaceError)


class ConnectionGate:
    """Whether this process may connect to the database, per alias.

    Down from the first failed connection until the probe connects: every
    connection a request would make meanwhile fails at once, so a host that
    doesn't answer costs one connect timeout per probe, not one per request.
    """

    # A refused connection (a restart) costs nothing, so the probe can be
    # frequent: the app is back within this long of the database.
    PROBE_EVERY_SECONDS = 0.5

    def __init__(self):
        self._lock = threading.Lock()
        self._up = threading.Event()
        self._up.set()
        self._probing = False
        self._down_since = None

    def is_down(self):
        return not self._up.is_set()

    def wait_up(self, timeout):
        """True once the database answers again (for tests and tools)."""
        return self._up.wait(timeout)

    def connected(self):
        with self._lock:
            if self._down_since is not None:
                logger.warning("The database answers again, after %.1f s", time.monotonic() - self._down_since)
                self._down_since = None
            self._up.set()

    def failed(self, connect, error):
        """A connection failed: down, and probed with connect() until it works."""
        with self._lock:
            self._up.clear()
            if self._down_since is None:
                self._down_since = time.monotonic()
                logger.error(
                    "The database can't be reached: %s; no new connections until a probe (every %s s) gets one",
                    _first_line(error),
                    self.PROBE_EVERY_SECONDS,
                )
            if self._probing:
                return
            self._probing = True
        threading.Thread(target=self._probe, args=(connect,), name="database-probe", daemon=True).start()

    def _probe(self, connect):
        while True:
            time.sleep(self.PROBE_EVERY_SECONDS)
            try:
                connect()
            except Exception:  # still down: whatever it says, the next probe asks again
                continue
            with self._lock:
                self._probing = False
            self.connected()
            return

    def _forget(self):
        # In a forked child (gunicorn's workers, when the master connected):
        # the parent's probe thread is not here, so start again as up.
        self.__init__()


_gates = {}


def gate(alias="default"):
    if alias not in _gates:
        _gates.setdefault(alias, ConnectionGate())
    return _gates[alias]


def database_known_down(alias="default"):
    """True while this process knows the database can't be reached."""
    found = _gates.get(alias)
    return found is not None and found.is_down()


os.register_at_fork(after_in_child=lambda: [each._forget() for each in _gates.values()])


class DatabaseOutageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, DATABASE_DOWN):
            return None
        if not database_known_down():  # else the gate has said so, once
            logger.error("The database can't be reached: %s", _first_line(exception))
        response = refusal(
            request,
            503,
            "The database can't be reached",
            "Your last change may not have been saved. Please try again in a moment.",
            retry_after=RETRY_SOON_SECONDS,
        )
        # For the page cache above: it may answer with an older page instead.
        response.database_down = True
        return response


def _first_line(error):
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
