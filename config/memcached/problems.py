"""memcached problems are logged once, then once a minute per kind, with a count.

A server that is down fails every operation of every request: one line per
operation would bury everything else in the log.
"""

import logging
import threading
import time
from contextlib import contextmanager
from functools import partialmethod

from bmemcached.exceptions import MemcachedException

logger = logging.getLogger("config.memcached")

# At most one log line per kind of problem in this interval (per process).
LOG_INTERVAL_SECONDS = 60


class RateLimitedLog:
    """Log a recurring problem once, then once per interval with a count."""

    def __init__(self, interval):
        self.interval = interval
        self._lock = threading.Lock()
        self._last = {}  # kind -> (time logged, occurrences since)

    def log(self, level, kind, message, *args):
        now = time.monotonic()
        with self._lock:
            logged_at, suppressed = self._last.get(kind, (None, 0))
            if logged_at is not None and now - logged_at < self.interval:
                self._last[kind] = (logged_at, suppressed + 1)
                return
            self._last[kind] = (now, 0)
        if suppressed:
            message += " (%d more since the last report)"
            args += (suppressed,)
        logger.log(level, message, *args)

    def forget(self):
        """Log the next problem of every kind at once (for tests)."""
        with self._lock:
            self._last.clear()

    warning = partialmethod(log, logging.WARNING)
    error = partialmethod(log, logging.ERROR)


problems = RateLimitedLog(LOG_INTERVAL_SECONDS)


class Unavailable(Exception):
    """The server is down, hung, refused the login, or is being skipped.

    Reported (rate limited) when the server failed: whoever catches this
    treats it as a miss and reports nothing more.
    """


class ServerError(Exception):
    """The server answered with a status the client did not expect."""

    def __init__(self, server, status, message):
        super().__init__(f"{server} answered status 0x{status:02x} ({message or 'no message'})")
        self.status = status


class Unreadable(Exception):
    """A value read from memcached that this release can't or won't load."""


# Infrastructure faults: each costs a miss (or False) and a log line, never
# a 500. bmemcached raises MemcachedException for a few server answers, and
# OSError could only escape it from a socket call it does not wrap.
FAULTS = (Unavailable, ServerError, Unreadable, MemcachedException, OSError)


def degrade(operation, error):
    """Report a fault that `operation` treats as a miss."""
    if isinstance(error, Unavailable):
        return
    problems.warning(
        f"{operation}:{type(error).__name__}",
        "memcached %s failed: %s; treated as a cache miss",
        operation,
        error,
    )


@contextmanager
def degraded(operation):
    """Run a cache operation; an infrastructure fault is reported, not raised."""
    try:
        yield
    except FAULTS as error:
        degrade(operation, error)
