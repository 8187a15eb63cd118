"""
The admin login, throttled: at most MAX_ATTEMPTS password checks per client
address per window, counted in the cache with memcached's atomic add and
incr. The next one gets a 429 with Retry-After and a message that says when
to try again.

- The attempt is counted *before* the password is checked, so a burst of
  concurrent guesses gets at most MAX_ATTEMPTS checked, however the requests
  interleave: memcached's incr hands out each count once.
- A login that succeeds clears its address's count.
- The count is per client address, as Heroku's router gives it: the last
  X-Forwarded-For entry, which the router appends (whatever a client sends
  itself comes before); per /64 for IPv6. A guesser can only lock out their own address: the
  real admin, from anywhere else, logs in as ever.
- A window starts at an address's first attempt and lasts WINDOW_SECONDS:
  the counter's life in the cache. The counter starts at that time (scaled),
  so the one incr that counts an attempt also says when its window ends,
  for the 429's Retry-After.
- While the cache can't be reached, throttling fails open: the login works
  (the password is still checked) and the log says throttling is off. The
  alternative would lock every admin out during a cache outage. On the
  embedded file cache, add and incr are not atomic: best effort.
"""

import ipaddress
import time
from functools import wraps

from django.conf import settings
from django.core.cache import cache

from config.memcached.problems import problems
from config.problem_pages import problem
from tasks import cache as keys

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
        started, attempts = divmod(cache.incr(key), SCALE)
    except ValueError:
        problems.warning(
            "login-throttle",
            "the cache can't count admin login attempts: throttling is off until it can",
        )
        return 0, 0
    return attempts, started + WINDOW_SECONDS - now


def too_many(request, retry_after):
    minutes = -(-retry_after // 60)
    message = (
        f"Too many failed logins from your address. Please try again in {minutes} minute{'s' if minutes > 1 else ''}."
    )
    return problem(request, 429, "Too many failed logins", message, retry_after=retry_after)
