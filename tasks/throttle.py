"""
Limits on what one client can make the app do: at most `allowance`
requests per window for each subject (a client address, an IPv6 /48, an
admin account), counted in the cache with memcached's atomic add and incr
*before* any work is done, so a concurrent burst gets no more than the
allowance through. Used by the admin login (tasks/login_throttle.py) and by
the task list's adds and deletes (tasks/views.py); what each limit is, and
why: docs/security.md.

A window starts at a subject's first request and lasts window_seconds: the
counter's life in the cache. The counter starts at that time (scaled), so
the one incr that counts a request also says when its window ends, for the
429's Retry-After.

While the cache can't count, every limit fails open: the request is served
(a login still checks the password), because the alternative refuses every
write and locks every admin out during a cache outage. The log says so once
when counting stops working and once when it works again.
"""

import ipaddress
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from tasks import keys
from tasks.typed_reads import unexpected

logger = logging.getLogger(__name__)
# counter = window start (Unix seconds) * SCALE + requests. Fits memcached's
# 64 bits until the year 2500, and no client sends 10^9 requests in one
# window to carry its count over into the start.
SCALE = 10**9
# An IPv6 client counts per /64, the block one subscriber usually gets
# (otherwise each of its 2^64 addresses would have an allowance of its own),
# and per /48 too, the most one site is usually given: with a larger
# allowance, so that hopping between a /48's 65,536 /64s gains little.
ADDRESS_PREFIX = 64
NETWORK_PREFIX = 48


@dataclass(frozen=True)
class Limit:
    name: str  # what is counted, part of the key: "add-address"
    allowance: int  # requests per window; the next one is refused
    window_seconds: int
    whose: str  # for the refusal: "from your address"

    def key(self, subject):
        return keys.throttle(self.name, subject)


def exceeded(counts):
    """Count this request against each (limit, subject) in turn, narrowest
    first (None: not counted). Return the first limit it goes over and the
    seconds until that limit's window ends, or (None, 0).

    Counting stops at the first limit exceeded: a request one limit refuses
    uses up none of the wider ones' allowance (a guesser over its own
    address's limit takes nothing from the account it guesses at)."""
    for limit, subject in counts:
        if subject is None:
            continue
        counted = count(limit.key(subject), limit.window_seconds)
        if counted is None:
            return None, 0  # the cache can't count: fail open
        number, seconds_left = counted
        if number > limit.allowance:
            return limit, max(seconds_left, 1)
    return None, 0


def per_client(request, per_address, per_network):
    """The (limit, subject) pairs of a client: its address, and its IPv6
    /48 if it has one, for exceeded()."""
    address, network = client_blocks(request)
    return [(per_address, address), (per_network, network)]


def count(key, window_seconds):
    """(this request's number in its window, seconds until the window
    ends); None if the cache can't count."""
    now = int(time.time())
    cache.add(key, now * SCALE, window_seconds)
    try:
        counter = cache.incr(key)
    except ValueError:  # memcached down (or the key evicted since the add)
        _counting(False)
        return None
    except TypeError:
        # Not an integer: memcached can't add to it (nor Python, on the
        # file cache). Read once, to say what it is.
        _counting(True)
        return _restart(key, now, window_seconds, cache.get(key))
    _counting(True)
    started, number = divmod(counter, SCALE)
    # A counter whose window did not start within the last window (a bare 7,
    # say, which would refuse every request from 1970 on) is no counter of
    # ours; a window's slack for clocks that differ between machines.
    if not now - 2 * window_seconds <= started <= now + window_seconds:
        return _restart(key, now, window_seconds, counter)
    return number, started + window_seconds - now


def _restart(key, now, window_seconds, found):
    """Replace what is no counter of ours with one that counts this request."""
    if found is not None:  # (None: unreadable, and the backend said so)
        unexpected(found, "a request counter")
    cache.set(key, now * SCALE + 1, window_seconds)
    return 1, window_seconds


def clear(limit, subject):
    cache.delete(limit.key(subject))


def client_blocks(request):
    """(address, network) of the client, as counted: an IPv4 address and
    None, or an IPv6 client's /64 and /48.

    The address is the last X-Forwarded-For entry, which Heroku's router
    appends (TRUST_X_FORWARDED_FOR), never an earlier one, which the client
    can forge."""
    address = None
    if settings.TRUST_X_FORWARDED_FOR:
        address = _parse(request.META.get("HTTP_X_FORWARDED_FOR", "").rsplit(",", 1)[-1])
    # No router in front after all: the connection's own address.
    address = address or _parse(request.META.get("REMOTE_ADDR", ""))
    if address is None:
        return "", None
    if address.version == 6:
        if address.ipv4_mapped:
            return str(address.ipv4_mapped), None
        return _block(address, ADDRESS_PREFIX), _block(address, NETWORK_PREFIX)
    return str(address), None


def _parse(text):
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _block(address, prefix):
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def in_minutes(seconds):
    """'3 minutes': how long a Retry-After is, for people."""
    minutes = -(-seconds // 60)
    return f"{minutes} minute{'s' if minutes > 1 else ''}"


# Whether the last request could be counted: the log says when that changes.
_counting_works = True


def _counting(works):
    """Log when counting stops and starts working again: once per change,
    not once per request while memcached is down."""
    global _counting_works
    if works == _counting_works:
        return
    _counting_works = works
    if works:
        logger.warning("admin logins, adds and deletes are counted again: throttling is back on")
    else:
        logger.warning("the cache can't count admin logins, adds and deletes: throttling is off until it can")
