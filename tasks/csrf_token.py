"""
A visitor's masked CSRF token, exactly as Django's get_token makes it, in a
fraction of the time: every response of the cached page needs one.

Django masks the secret in the visitor's cookie with 32 fresh random
characters per response (against BREACH), drawing each with
secrets.choice, and makes a new visitor's secret the same way: about 40 µs
a token. Here the characters come from os.urandom, a byte each, mapped with
bytes.translate; bytes that would favour some characters are thrown away,
so every character is as likely as with secrets.choice. The cipher and the
request.META keys are Django's (django/middleware/csrf.py): its middleware
unmasks the token and sets the cookie as for its own (tests/test_csrf_token.py).
"""

import secrets

from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH

CHARS = CSRF_ALLOWED_CHARS.encode()
SIZE = len(CHARS)
# Bytes under this map evenly onto the 62 characters (4 times each).
UNBIASED = 256 - 256 % SIZE
REJECTED = bytes(range(UNBIASED, 256))
TO_CHAR = bytes(CHARS[byte % SIZE] for byte in range(UNBIASED)) + REJECTED
TO_POSITION = bytes.maketrans(CHARS, bytes(range(SIZE)))


def masked_token(request, renew_cookie=True):
    """django.middleware.csrf.get_token(request), drawn faster.

    renew_cookie=False leaves a cookie the visitor sent as it is, where
    get_token sends it again to renew its expiry (a year, CSRF_COOKIE_AGE).
    """
    secret = request.META.get("CSRF_COOKIE")
    if secret is None:
        # A new visitor (CsrfViewMiddleware's process_request found no
        # cookie): a new secret, and the cookie to carry it, as
        # django.middleware.csrf._add_new_csrf_cookie does.
        secret = random_chars(CSRF_SECRET_LENGTH).decode()
        request.META["CSRF_COOKIE"] = secret
        request.META["CSRF_COOKIE_NEEDS_UPDATE"] = True
    elif renew_cookie:
        request.META["CSRF_COOKIE_NEEDS_UPDATE"] = True
    mask = random_chars(CSRF_SECRET_LENGTH)
    # The secret was checked by CsrfViewMiddleware: allowed characters only.
    pairs = zip(secret.encode().translate(TO_POSITION), mask.translate(TO_POSITION), strict=True)
    cipher = bytes(CHARS[(s + m) % SIZE] for s, m in pairs)
    return (mask + cipher).decode()


def random_chars(count):
    """count random CSRF_ALLOWED_CHARS, as bytes."""
    chars = b""
    while len(chars) < count:
        chars += secrets.token_bytes(count + 8).translate(TO_CHAR, REJECTED)
    return chars[:count]
