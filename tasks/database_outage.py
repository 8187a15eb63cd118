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

    Down from a failed connection, or from a connection that worked and
    broke (a restart, a failover, a host gone), until a probe of its own
    connects. Meanwhile a request that needs a new connection fails at once:
    a host that doesn't answer costs one connect timeout per probe, not one
    per request. After a broken connection the first probe starts at once,
    and requests wait for it a little (up to WAIT_FOR_CHECK_SECONDS after
    the break, all together): enough for a database that is fine to answer
    it, not enough to be felt if it isn't.
    """

    # A refused connection (a restart) costs nothing, so the probe can be
    # frequent: the app is back within this long of the database.
    PROBE_EVERY_SECONDS = 0.25
    WAIT_FOR_CHECK_SECONDS = 0.05

    def __init__(self):
        self._lock = threading.Lock()
        self._up = threading.Event()
        self._up.set()
        self._checking = False  # a probe's first try, after a broken connection, is under way
        self._check_deadline = 0.0  # until when requests wait for that try
        self._probing = False
        self._down_since = None
        self._logged = False  # that it is down, once per outage

    def is_down(self):
        return not self._up.is_set()

    @property
    def checking(self):
        """Whether the first probe after a broken connection is under way."""
        return self._checking

    def wait_up(self, timeout):
        """True once the database answers again (for tests and tools)."""
        return self._up.wait(timeout)

    def may_connect(self):
        if self._up.is_set():
            return True
        wait = self._check_deadline - time.monotonic()
        return self._checking and wait > 0 and self._up.wait(wait)

    def broke(self, connect):
        """A connection that worked is unusable: check with connect() at once."""
        self._go_down(connect, checking=True)

    def failed(self, connect, error):
        """A connection failed: down, and probed with connect() until it works."""
        self._go_down(connect, checking=False, error=error)

    def connected(self):
        with self._lock:
            if self._down_since is not None:
                logger.warning("The database answers again, after %.1f s", time.monotonic() - self._down_since)
                self._down_since = None
            self._checking = self._logged = False
            self._up.set()

    def _go_down(self, connect, checking, error=None):
        with self._lock:
            if self._up.is_set():
                self._up.clear()
                self._checking = checking
                self._down_since = time.monotonic()
                self._check_deadline = self._down_since + self.WAIT_FOR_CHECK_SECONDS
            if error is not None:
                self._log_down(error)
            if self._probing:
                return
            self._probing = True
        first_wait = 0 if checking else self.PROBE_EVERY_SECONDS
        threading.Thread(target=self._probe, args=(connect, first_wait), name="database-probe", daemon=True).start()

    def _probe(self, connect, wait):
        while True:
            time.sleep(wait)
            started = time.monotonic()
            try:
                connect()
            except Exception as error:  # still down: whatever it says, the next probe asks again
                with self._lock:
                    self._checking = False
                    self._log_down(error)
                # Every PROBE_EVERY_SECONDS from the start of the last try:
                # at once after a connect that timed out.
                wait = max(0.0, started + self.PROBE_EVERY_SECONDS - time.monotonic())
                continue
            with self._lock:
                self._probing = False
            self.connected()
            return

    def _log_down(self, error):
        # (The lock is held.)
        if not self._logged:
            self._logged = True
            logger.error(
                "The database can't be reached: %s; no new connections until a probe (every %s s) gets one",
                _first_line(error),
                self.PROBE_EVERY_SECONDS,
            )

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
