"""
The admin login is throttled per client address (tasks/login_throttle.py):
after MAX_ATTEMPTS attempts in a window, a 429 with Retry-After and a
message. Counted with memcached's atomic add and incr, before the password
is checked, so a concurrent burst gets no more than MAX_ATTEMPTS through.
"""

import logging
import threading

import pytest
from django.core.cache import cache
from django.test import override_settings

from harness.services import free_port
from harness.visitor import Visitor
from tasks.login_throttle import MAX_ATTEMPTS, WINDOW_SECONDS
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
    return django_user_model.objects.create_superuser("staff", password=PASSWORD)


def log_in(password, address, forwarded_by_client=""):
    """A login from `address`, through Heroku's router (X-Forwarded-For)."""
    forwarded = f"{forwarded_by_client}, {address}" if forwarded_by_client else address
    client = HttpsClient(HTTP_X_FORWARDED_FOR=forwarded)
    return client.post("/admin/login/?next=/admin/", {"username": "staff", "password": password}), client


def test_after_max_attempts_a_429_says_when_to_try_again(staff):
    for _ in range(MAX_ATTEMPTS):
        response, _ = log_in("wrong", "203.0.113.7")
        assert response.status_code == 200  # the form again, "Please enter the correct..."
    response, _ = log_in("wrong", "203.0.113.7")
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= WINDOW_SECONDS
    assert "Too many failed logins from your address. Please try again in" in response.content.decode()
    assert_protected(response)
    # Refused before the password is looked at: the right one too, no oracle.
    response, _ = log_in(PASSWORD, "203.0.113.7")
    assert response.status_code == 429


def test_a_successful_login_clears_the_count(staff):
    for _ in range(MAX_ATTEMPTS - 1):
        assert log_in("wrong", "203.0.113.8")[0].status_code == 200
    response, client = log_in(PASSWORD, "203.0.113.8")
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200
    for _ in range(MAX_ATTEMPTS):
        assert log_in("wrong", "203.0.113.8")[0].status_code == 200


def test_a_guesser_elsewhere_never_locks_the_admin_out(staff):
    for _ in range(MAX_ATTEMPTS + 3):
        log_in("wrong", "198.51.100.66")
    assert log_in("wrong", "198.51.100.66")[0].status_code == 429
    # The real admin, from another address, logs in as ever.
    assert log_in(PASSWORD, "203.0.113.9")[0].status_code == 302


def test_what_a_client_puts_in_x_forwarded_for_changes_nothing(staff):
    # Only the router's own entry, the last one, counts: forged first
    # entries can't spread the guesses over many addresses.
    for number in range(MAX_ATTEMPTS):
        assert log_in("wrong", "198.51.100.77", forwarded_by_client=f"192.0.2.{number}")[0].status_code == 200
    assert log_in("wrong", "198.51.100.77", forwarded_by_client="192.0.2.200")[0].status_code == 429


def test_an_ipv6_client_counts_per_64_block(staff):
    # One subscriber's /64: hopping between its addresses gains nothing.
    for number in range(MAX_ATTEMPTS):
        assert log_in("wrong", f"2001:db8:1:2::{number + 1:x}")[0].status_code == 200
    assert log_in("wrong", "2001:db8:1:2:ffff::1")[0].status_code == 429
    assert log_in(PASSWORD, "2001:db8:1:3::1")[0].status_code == 302  # the next /64


def test_an_ipv4_mapped_address_counts_as_its_ipv4_address(staff):
    for _ in range(MAX_ATTEMPTS):
        assert log_in("wrong", "::ffff:198.51.100.99")[0].status_code == 200
    assert log_in("wrong", "198.51.100.99")[0].status_code == 429


def test_without_a_router_in_front_the_connections_own_address_counts(staff, settings):
    settings.TRUST_X_FORWARDED_FOR = False
    for number in range(MAX_ATTEMPTS):
        assert log_in("wrong", f"192.0.2.{number}")[0].status_code == 200
    # Every forged X-Forwarded-For above came from the same REMOTE_ADDR.
    assert log_in("wrong", "192.0.2.250")[0].status_code == 429


def test_while_memcached_is_down_throttling_fails_open_and_says_so(staff, caplog):
    assert log_in("wrong", "203.0.113.99")[0].status_code == 200  # counted: throttling is on
    down = {"BACKEND": "memcachier_cache.MemCachierCache", "LOCATION": [f"127.0.0.1:{free_port()}"]}
    with override_settings(CACHES={"default": down, "template_fragments": down}):
        with caplog.at_level(logging.WARNING, logger="tasks.login_throttle"):
            for _ in range(MAX_ATTEMPTS + 2):
                assert log_in("wrong", "203.0.113.10")[0].status_code == 200
            response, client = log_in(PASSWORD, "203.0.113.10")
    assert response.status_code == 302
    # Said once when it stops, not once per attempt; and again once it counts again.
    assert caplog.text.count("throttling is off") == 1
    with caplog.at_level(logging.WARNING, logger="tasks.login_throttle"):
        assert log_in("wrong", "203.0.113.10")[0].status_code == 200
    assert caplog.text.count("throttling is back on") == 1


def test_a_concurrent_burst_gets_at_most_max_attempts_checked(start_app, admin_user):
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
    assert statuses.count(200) == MAX_ATTEMPTS  # the password was checked this often
