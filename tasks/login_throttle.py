"""
The admin login, throttled: password checks are bounded per client address,
per IPv6 /48 and per account, each counted (tasks/throttle.py) before the
password is checked; over any of them, a 429 with Retry-After that says
which, and when to try again. What it guarantees, how an account's owner
gets in while a botnet guesses at it, and why it fails open while the cache
is down: docs/security.md ("The admin login").
"""

from functools import wraps

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core import signing

from tasks import throttle
from tasks.refusals import refusal
from tasks.throttle import Limit

# A person mistypes a few times; one address guessing gets 30 an hour.
PER_ADDRESS = Limit("login-address", 5, 10 * 60, "from your address")
# An IPv6 /48, four /64s' worth: its 65,536 /64s don't get 5 guesses each.
PER_NETWORK = Limit("login-network", 20, 10 * 60, "from your network")
# One account, from every address together: what a botnet gets at it.
PER_ACCOUNT = Limit("login-account", 20, 60 * 60, "for this account")
# The same account from browsers that have logged in to it before (the
# device cookie), counted apart: a botnet has no such cookie, so it can't
# use up the owner's allowance, and a stolen cookie adds at most this much.
PER_ACCOUNT_KNOWN = Limit("login-account-known", 20, 60 * 60, "for this account")

# Set by a successful login, sent back only to the login page: signed, so
# only this app makes one; it names the account, and lets nobody in by itself.
DEVICE_COOKIE = "login_device"
DEVICE_SALT = "tasks.login_throttle.device"
DEVICE_MAX_AGE = 365 * 24 * 60 * 60


def throttled(login_view):
    @wraps(login_view)
    def view(request, *args, **kwargs):
        if request.method != "POST":
            return login_view(request, *args, **kwargs)
        address, network = throttle.client_blocks(request)
        username = account(request.POST.get("username"))
        known = known_account(request) == username
        limit, retry_after = throttle.exceeded(
            [
                (PER_ADDRESS, address),
                # A known browser is the owner's, wherever it is: its own
                # address still counts, its neighbours' guesses don't.
                (PER_NETWORK, None if known else network),
                (PER_ACCOUNT_KNOWN if known else PER_ACCOUNT, username),
            ]
        )
        if limit:
            return too_many(request, limit, retry_after)
        response = login_view(request, *args, **kwargs)
        if response.status_code == 302 and request.user.is_authenticated:
            # The owner's own mistypes are forgiven; the botnet's guesses
            # (PER_ACCOUNT, PER_NETWORK) are not, whoever logs in.
            throttle.clear(PER_ADDRESS, address)
            throttle.clear(PER_ACCOUNT_KNOWN, username)
            remember_account(request, response, username)
        return response

    return view


def account(username):
    """A user name as Django's auth looks it up: cleaned by the login form's
    own field (surrounding spaces stripped, NFKC-normalized, so "ｓｔａｆｆ"
    is "staff"), then matched exactly ("Staff" is another account)."""
    return AuthenticationForm().fields["username"].to_python(username)


def known_account(request):
    """The account this browser logged in to last (its device cookie), or None."""
    try:
        return signing.loads(request.COOKIES.get(DEVICE_COOKIE, ""), salt=DEVICE_SALT, max_age=DEVICE_MAX_AGE)
    except signing.BadSignature:  # no cookie, a forged or an expired one
        return None


def remember_account(request, response, username):
    response.set_cookie(
        DEVICE_COOKIE,
        signing.dumps(username, salt=DEVICE_SALT),  # base64: any user name fits in a cookie
        max_age=DEVICE_MAX_AGE,
        path=request.path,  # the login page only
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Strict",
    )


def clear_account(username):
    """Let an account's owner log in from any browser now (`manage.py
    clear_login_throttle`): forget the failed logins counted against it."""
    username = account(username)
    throttle.clear(PER_ACCOUNT, username)
    throttle.clear(PER_ACCOUNT_KNOWN, username)
    return username


def too_many(request, limit, retry_after):
    message = f"Too many failed logins {limit.whose}. Please try again in {throttle.in_minutes(retry_after)}."
    if limit == PER_ACCOUNT:
        message += " A browser that has logged in to this account before can log in now."
    return refusal(request, 429, "Too many failed logins", message, retry_after=retry_after)
