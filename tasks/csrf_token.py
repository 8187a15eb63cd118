"""
A visitor's masked CSRF token, exactly as Django's get_token makes it, in a
fifth of the time: every response of the cached page needs one.

Django masks the secret in the visitor's cookie with 32 fresh random
characters per response (against BREACH), drawing each with
secrets.choice: about 40 µs a token, a tenth of a page hit. Here the mask
comes from os.urandom, a byte a character, bytes that would favour some
characters thrown away, so every character is as likely as with
secrets.choice; the cipher is Django's. Django's middleware unmasks it as
its own (tests/test_csrf_token.py checks that it does).
"""

import secrets

from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH, get_token

CHARS = CSRF_ALLOWED_CHARS
POSITION = {char: position for position, char in enumerate(CHARS)}
# Bytes under this map evenly onto the 62 characters (4 times each).
UNBIASED = 256 - 256 % len(CHARS)


def masked_token(request, renew_cookie=True):
    """django.middleware.csrf.get_token(request), drawn faster.

    renew_cookie=False leaves a cookie the visitor sent as it is, where
    get_token sends it again to renew its expiry (a year, CSRF_COOKIE_AGE).
    """
    secret = request.META.get("CSRF_COOKIE")
    if secret is None:
        # A new visitor: Django makes the secret and sets the cookie. (A
        # malformed cookie was replaced by CsrfViewMiddleware already, which
        # sends the new one whatever renew_cookie says.)
        return get_token(request)
    if renew_cookie:
        request.META["CSRF_COOKIE_NEEDS_UPDATE"] = True
    mask = random_chars(CSRF_SECRET_LENGTH)
    size = len(CHARS)
    cipher = "".join(CHARS[(POSITION[s] + POSITION[m]) % size] for s, m in zip(secret, mask, strict=True))
    return mask + cipher


def random_chars(count):
    chars = []
    while len(chars) < count:
        chars += [CHARS[byte % len(CHARS)] for byte in secrets.token_bytes(count) if byte < UNBIASED]
    return "".join(chars[:count])
