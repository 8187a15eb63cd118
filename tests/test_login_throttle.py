"""
The admin login is throttled (tasks/login_throttle.py, counted by
tasks/throttle.py) per client address, per IPv6 /48 and per account: over
any limit, a 429 with Retry-After and a message that says which. Counted
with memcached's atomic add and incr, before the password is checked, so a
concurrent burst gets no more checks than the limit. A botnet guessing one
account gets PER_ACCOUNT password checks a window, and the owner still logs
in from a browser that logged in before, or after clear_login_throttle.
"""

import logging
import threading
from io import StringIO

import pytest
from django.contrib.auth.signals import user_login_failed
from django.core import signing
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.test import override_settings

from harness.services import free_port
from harness.visitor import Visitor
from tasks.login_throttle import DEVICE_COOKIE, DEVICE_SALT, PER_ACCOUNT, PER_ADDRESS, PER_NETWORK
from tests.conftest import HttpsClient
from tests.test_response_headers import assert_protected

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "the-right-password-1"
ROUTER = "10.1.2.3"  # what Heroku's router appends: the client as it saw it


@pytest.fixture
def staff(django_user_model, settings):
    # Django's PBKDF2 costs about half a second a password on these machines.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.TRUST_X_FORWARDED_FOR = True
    django_user_model.objects.create_superuser("other", password=PASSWORD)
    return django_user_model.objects.create_superuser("staff", password=PASSWORD)


@pytest.fixture
def password_checks():
    """How many passwords Django's auth checked and found wrong (or found no user for)."""
    failed = []

    def count(sender, credentials, **kwargs):
        failed.append(credentials["username"])

    user_login_failed.connect(count)
    yield failed
    user_login_failed.disconnect(count)


def log_in(password, address, forwarded_by_client="", username="staff", client=None):
    """A login from `address`, through Heroku's router (X-Forwarded-For);
    from a new browser unless `client` is given."""
    forwarded = f"{forwarded_by_client}, {address}" if forwarded_by_client else address
    client = client or HttpsClient()
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password},
        HTTP_X_FORWARDED_FOR=forwarded,
    )
    return response, client


def botnet_guesses(count, username="staff"):
    """`count` wrong passwords for one account, each from an address of its own."""
    return [log_in("wrong", f"198.18.{number >> 8}.{number & 255}", username=username)[0] for number in range(count)]


def test_after_max_attempts_a_429_says_when_to_try_again(staff):
    for _ in range(PER_ADDRESS.allowance):
        response, _ = log_in("wrong", "203.0.113.7")
        assert response.status_code == 200  # the form again, "Please enter the correct..."
    response, _ = log_in("wrong", "203.0.113.7")
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= PER_ADDRESS.window_seconds
    assert "Too many failed logins from your address. Please try again in" in response.content.decode()
    assert_protected(response)
    # Refused before the password is looked at: the right one too, no oracle.
    response, _ = log_in(PASSWORD, "203.0.113.7")
    assert response.status_code == 429


def test_a_successful_login_clears_the_count(staff):
    for _ in range(PER_ADDRESS.allowance - 1):
        assert log_in("wrong", "203.0.113.8")[0].status_code == 200
    response, client = log_in(PASSWORD, "203.0.113.8")
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200
    for _ in range(PER_ADDRESS.allowance):
        assert log_in("wrong", "203.0.113.8")[0].status_code == 200


def test_a_guesser_elsewhere_never_locks_the_admin_out(staff):
    for _ in range(PER_ADDRESS.allowance + 3):
        log_in("wrong", "198.51.100.66")
    assert log_in("wrong", "198.51.100.66")[0].status_code == 429
    # The real admin, from another address, logs in as ever.
    assert log_in(PASSWORD, "203.0.113.9")[0].status_code == 302


def test_what_a_client_puts_in_x_forwarded_for_changes_nothing(staff):
    # Only the router's own entry, the last one, counts: forged first
    # entries can't spread the guesses over many addresses.
    for number in range(PER_ADDRESS.allowance):
        assert log_in("wrong", "198.51.100.77", forwarded_by_client=f"192.0.2.{number}")[0].status_code == 200
    assert log_in("wrong", "198.51.100.77", forwarded_by_client="192.0.2.200")[0].status_code == 429


def test_an_ipv6_client_counts_per_64_block(staff):
    # One subscriber's /64: hopping between its addresses gains nothing.
    for number in range(PER_ADDRESS.allowance):
        assert log_in("wrong", f"2001:db8:1:2::{number + 1:x}")[0].status_code == 200
    assert log_in("wrong", "2001:db8:1:2:ffff::1")[0].status_code == 429
    assert log_in(PASSWORD, "2001:db8:1:3::1")[0].status_code == 302  # the next /64


def test_many_64s_of_one_48_are_bounded_together(staff, password_checks):
    # One /64 after another of 2001:db8:7::/48, each well under its own
    # limit, spraying one guess at each of many accounts: the /48 gets
    # PER_NETWORK checks, not PER_ADDRESS for each of its 65,536 /64s.
    for number in range(PER_NETWORK.allowance):
        response, _ = log_in("wrong", f"2001:db8:7:{number:x}::1", username=f"someone-{number}")
        assert response.status_code == 200
    response, _ = log_in("wrong", "2001:db8:7:ffff::1", username="someone-else")
    assert response.status_code == 429
    assert "Too many failed logins from your network. Please try again in" in response.content.decode()
    assert len(password_checks) == PER_NETWORK.allowance
    # The next /48 is another network.
    assert log_in(PASSWORD, "2001:db8:8::1")[0].status_code == 302


def test_a_botnet_gets_per_account_checks_at_one_account_from_any_number_of_addresses(staff, password_checks):
    responses = botnet_guesses(PER_ACCOUNT.allowance + 10)
    statuses = [response.status_code for response in responses]
    assert statuses == [200] * PER_ACCOUNT.allowance + [429] * 10
    assert password_checks == ["staff"] * PER_ACCOUNT.allowance  # checked this often, no more
    body = responses[-1].content.decode()
    assert "Too many failed logins for this account. Please try again in" in body
    assert 0 < int(responses[-1]["Retry-After"]) <= PER_ACCOUNT.window_seconds
    # From a new browser and a new address, the right password is refused
    # too (no oracle); another account is not.
    assert log_in(PASSWORD, "203.0.113.20")[0].status_code == 429
    assert log_in(PASSWORD, "203.0.113.20", username="other")[0].status_code == 302


def test_the_user_name_counts_as_django_matches_it(staff, password_checks):
    # Surrounding spaces and full-width letters are the same account to
    # Django's auth (the form strips and NFKC-normalizes): the same count.
    variants = ["staff", " staff ", "ｓｔａｆｆ", "staff\t"]
    for number in range(PER_ACCOUNT.allowance):
        response, _ = log_in("wrong", f"198.19.0.{number}", username=variants[number % len(variants)])
        assert response.status_code == 200
    assert log_in("wrong", "198.19.1.1", username="ｓｔａｆｆ ")[0].status_code == 429
    assert password_checks == ["staff"] * PER_ACCOUNT.allowance
    # A name that differs in case is another account to Django, and here.
    assert log_in("wrong", "198.19.1.2", username="Staff")[0].status_code == 200


def test_the_owner_logs_in_from_a_browser_that_logged_in_before(staff):
    response, owners_browser = log_in(PASSWORD, "203.0.113.30")
    assert response.status_code == 302
    cookie = response.cookies[DEVICE_COOKIE]
    assert (cookie["path"], cookie["httponly"], cookie["samesite"]) == ("/admin/login/", True, "Strict")
    owners_browser.post("/admin/logout/")
    botnet_guesses(PER_ACCOUNT.allowance + 5)
    assert log_in(PASSWORD, "203.0.113.31")[0].status_code == 429  # a new browser
    # The owner's browser, from wherever: a mistype, then the right password.
    assert log_in("wrong", "203.0.113.32", client=owners_browser)[0].status_code == 200
    response, _ = log_in(PASSWORD, "203.0.113.32", client=owners_browser)
    assert response.status_code == 302
    assert owners_browser.get("/admin/").status_code == 200


def test_a_cookie_of_another_account_or_a_forged_one_lifts_nothing(staff):
    response, browser = log_in(PASSWORD, "203.0.113.40", username="other")
    assert response.status_code == 302
    browser.post("/admin/logout/")
    botnet_guesses(PER_ACCOUNT.allowance)
    assert log_in(PASSWORD, "203.0.113.41", client=browser)[0].status_code == 429
    forger = HttpsClient()
    forger.cookies[DEVICE_COOKIE] = signing.dumps("staff", key="not-this-apps-secret-key", salt=DEVICE_SALT)
    assert log_in(PASSWORD, "203.0.113.42", client=forger)[0].status_code == 429


def test_clear_login_throttle_lets_the_owner_in_from_a_new_browser(staff):
    botnet_guesses(PER_ACCOUNT.allowance)
    assert log_in(PASSWORD, "203.0.113.50")[0].status_code == 429
    out = StringIO()
    call_command("clear_login_throttle", " staff ", stdout=out)
    assert "Cleared the failed logins counted against 'staff'" in out.getvalue()
    assert log_in(PASSWORD, "203.0.113.51")[0].status_code == 302
    with pytest.raises(CommandError, match="No user is named 'staf'"):
        call_command("clear_login_throttle", "staf")


def test_an_ipv4_mapped_address_counts_as_its_ipv4_address(staff):
    for _ in range(PER_ADDRESS.allowance):
        assert log_in("wrong", "::ffff:198.51.100.99")[0].status_code == 200
    assert log_in("wrong", "198.51.100.99")[0].status_code == 429


def test_without_a_router_in_front_the_connections_own_address_counts(staff, settings):
    settings.TRUST_X_FORWARDED_FOR = False
    for number in range(PER_ADDRESS.allowance):
        assert log_in("wrong", f"192.0.2.{number}")[0].status_code == 200
    # Every forged X-Forwarded-For above came from the same REMOTE_ADDR.
    assert log_in("wrong", "192.0.2.250")[0].status_code == 429


def test_while_memcached_is_down_throttling_fails_open_and_says_so(staff, caplog):
    assert log_in("wrong", "203.0.113.99")[0].status_code == 200  # counted: throttling is on
    down = {"BACKEND": "memcachier_cache.MemCachierCache", "LOCATION": [f"127.0.0.1:{free_port()}"]}
    with override_settings(CACHES={"default": down, "template_fragments": down}):
        with caplog.at_level(logging.WARNING, logger="tasks.throttle"):
            # Over every limit: one address, one account.
            for _ in range(PER_ACCOUNT.allowance + 2):
                assert log_in("wrong", "203.0.113.10")[0].status_code == 200
            response, client = log_in(PASSWORD, "203.0.113.10")
    assert response.status_code == 302
    # Said once when it stops, not once per attempt; and again once it counts again.
    assert caplog.text.count("throttling is off") == 1
    with caplog.at_level(logging.WARNING, logger="tasks.throttle"):
        assert log_in("wrong", "203.0.113.10")[0].status_code == 200
    assert caplog.text.count("throttling is back on") == 1


def test_a_concurrent_burst_gets_at_most_per_address_checks(start_app, admin_user):
    # Real concurrency: gunicorn's threads and workers, one memcached.
    app = start_app({"TRUST_X_FORWARDED_FOR": "1", "WEB_CONCURRENCY": "2"})
    cache.clear()
    statuses = []
    start = threading.Barrier(30)

    def guess():
        visitor = Visitor(app.url)
        visitor.get("/admin/login/")  # the CSRF cookie and token
        start.wait()
        response = visitor.post(
            "/admin/login/?next=/admin/",
            {"username": admin_user.username, "password": "wrong"},
            page="/admin/login/",
            headers={"X-Forwarded-For": ROUTER},
        )
        statuses.append(response.status)

    threads = [threading.Thread(target=guess) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(set(statuses)) == [200, 429]
    assert statuses.count(200) == PER_ADDRESS.allowance  # the password was checked this often
