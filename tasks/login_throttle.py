"""
The admin login, throttled: at most MAX_ATTEMPTS password checks per client
address per window, counted in the cache with memcached's atomic add and
incr before the password is checked; the next one gets a 429 with
Retry-After. What it guarantees, and why it fails open while the cache is
down: docs/security.md ("The admin login throttle").

A window starts at an address's first attempt and lasts WINDOW_SECONDS: the
counter's life in the cache. The counter starts at that time (scaled), so
the one incr that counts an attempt also says when its window ends, for the
429's Retry-After. A value that is no such counter (not an integer, or a
window that never was) is replaced by one that counts the attempt.
"""

import ipaddress
import logging
import time
from functools import wraps

from django.conf import settings
from django.core.cache import cache

from tasks import keys
from tasks.refusals import refusal
from tasks.typed_reads import unexpected

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
WINDOW_SECONDS = 10 * 60
# counter = window start (Unix seconds) * SCALE + attempts: fits memcached's 64 bits.
SCALE = 10**6


def throttled(login_view):
    @wraps(login_view)
    def view(request, *args, **kwargs):
        if request.method != "POST":
            return login_view(request, *args, **kwargs)
        key = keys.login_attempts(client_address(request))
        attempts, seconds_left = count_attempt(key)
        if attempts > MAX_ATTEMPTS:
            return too_many(request, retry_after=max(seconds_left, 1))
        response = login_view(request, *args, **kwargs)
        if response.status_code == 302 and request.user.is_authenticated:
            cache.delete(key)
        return response

    return view


def client_address(request):
    """The client's address, as counted: Heroku's router appends it to
    X-Forwarded-For. An IPv6 client counts per /64, the block one
    subscriber usually gets: otherwise each of its 2^64 addresses would
    have its own MAX_ATTEMPTS."""
    address = None
    if settings.TRUST_X_FORWARDED_FOR:
        address = parse_address(request.META.get("HTTP_X_FORWARDED_FOR", "").rsplit(",", 1)[-1])
    # No router in front after all: the connection's own address.
    address = address or parse_address(request.META.get("REMOTE_ADDR", ""))
    if address is None:
        return ""
    if address.version == 6:
        if address.ipv4_mapped:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def parse_address(text):
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def count_attempt(key):
    """(this attempt's number in its window, seconds until the window ends);
    (0, 0) if the cache can't count."""
    now = int(time.time())
    cache.add(key, now * SCALE, WINDOW_SECONDS)
    try:
        counter = cache.incr(key)
    except ValueError:
        _counting(False)
        return 0, 0
    except TypeError:
        # Not an integer: memcached can't add to it (nor Python, on the
        # file cache). Read once, to say what it is.
        _counting(True)
        return _restart(key, now, cache.get(key))
    _counting(True)
    started, attempts = divmod(counter, SCALE)
    # A counter whose window did not start in the last window (a bare 7,
    # say, which would refuse every login from 1970 on) is no counter of
    # ours; a window's slack for clocks that differ between machines.
    if not now - 2 * WINDOW_SECONDS <= started <= now + WINDOW_SECONDS:
        return _restart(key, now, counter)
    return attempts, started + WINDOW_SECONDS - now


def _restart(key, now, found):
    """Replace what is no counter of ours with one that counts this attempt."""
    if found is not None:  # (None: unreadable, and the backend said so)
        unexpected(found, "an admin login counter")
    cache.set(key, now * SCALE + 1, WINDOW_SECONDS)
    return 1, WINDOW_SECONDS


# Whether the last attempt could be counted: the log says when that changes.
_counting_works = True


def _counting(works):
    """Log when counting stops and starts working again: once per change,
    not once per login attempt while memcached is down."""
    global _counting_works
    if works == _counting_works:
        return
    _counting_works = works
    if works:
        logger.warning("admin login attempts are counted again: throttling is back on")
    else:
        logger.warning("the cache can't count admin login attempts: throttling is off until it can")


def too_many(request, retry_after):
    minutes = -(-retry_after // 60)
    message = (
        f"Too many failed logins from your address. Please try again in {minutes} minute{'s' if minutes > 1 else ''}."
    )
    return refusal(request, 429, "Too many failed logins", message, retry_after=retry_after)
