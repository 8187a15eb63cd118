"""
tasks/csrf_token.py masks a visitor's CSRF secret as Django does, only
faster: Django's middleware must take every token it makes, each token must
be new, and its characters as evenly drawn as Django's.
"""

import collections

from django.middleware.csrf import CSRF_ALLOWED_CHARS, CsrfViewMiddleware, _unmask_cipher_token
from django.test import RequestFactory

from tasks.csrf_token import masked_token, random_chars

SECRET = "abcdefghijklmnopqrstuvwxyzABCDEF"


def request_with_cookie():
    request = RequestFactory().get("/", HTTP_COOKIE=f"csrftoken={SECRET}")
    CsrfViewMiddleware(lambda r: None).process_request(request)
    return request


def test_django_unmasks_every_token_to_the_visitors_secret():
    request = request_with_cookie()
    tokens = {masked_token(request) for _ in range(200)}
    assert len(tokens) == 200  # a fresh mask each time (BREACH)
    for token in tokens:
        assert len(token) == 64 and set(token) <= set(CSRF_ALLOWED_CHARS)
        assert _unmask_cipher_token(token) == SECRET
    # As get_token does: the cookie is sent again, renewing it.
    assert request.META["CSRF_COOKIE_NEEDS_UPDATE"] is True


def test_a_new_visitor_gets_django_own_new_secret_and_cookie():
    request = RequestFactory().get("/")
    CsrfViewMiddleware(lambda r: None).process_request(request)
    token = masked_token(request)
    assert _unmask_cipher_token(token) == request.META["CSRF_COOKIE"]


def test_mask_characters_are_evenly_drawn():
    counts = collections.Counter(random_chars(62 * 2000).decode())
    assert set(counts) == set(CSRF_ALLOWED_CHARS)
    # 2,000 expected each; the first 8 characters would get 2,580 with a
    # byte % 62 that kept every byte (the bias the rejection avoids).
    assert max(counts.values()) < 2300 and min(counts.values()) > 1700
