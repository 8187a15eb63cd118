"""
Values read back from the cache, checked for the type stored there:
anything else is a miss and a log line, never a 500 (docs/caching.md,
"Fragments"). The backend loads only values this app signed, but an
integer is stored bare, as digits: any integer under our keys reads back.

A key that holds such a value is read by every request until it is
replaced, so the log says so once a minute per kind of entry, with a count.
"""

import logging
import threading
import time

logger = logging.getLogger(__name__)
LOG_INTERVAL_SECONDS = 60
_lock = threading.Lock()
_logged = {}  # what -> (time logged, reads since)


def typed(value, kind, what):
    """value if it is None (a plain miss) or a kind; else None, and logged."""
    if value is None or isinstance(value, kind):
        return value
    unexpected(value, what)
    return None


def unexpected(value, what):
    """Log that the cache held value, not of the shape it stores for what."""
    now = time.monotonic()
    with _lock:
        logged_at, since = _logged.get(what, (None, 0))
        if logged_at is not None and now - logged_at < LOG_INTERVAL_SECONDS:
            _logged[what] = (logged_at, since + 1)
            return
        _logged[what] = (now, 0)
    more = f" ({since} more since the last report)" if since else ""
    logger.warning("the cache held an unexpected %s for %s: treated as a miss%s", type(value).__name__, what, more)


def forget():
    """Log the next unexpected value of every kind at once (for tests)."""
    with _lock:
        _logged.clear()
