"""memcached problems are logged once, then once a minute per kind, with a count.

A server that is down fails every operation of every request: one line per
operation would bury everything else in the log.
"""

import logging
import threading
import time
from contextlib import contextmanager
from functools import partialmethod

from memcachier_cache.exceptions import FAULTS, Unavailable

logger = logging.getLogger("memcachier_cache")

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
