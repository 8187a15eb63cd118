"""
The Django cache backend: Django's whole cache contract on memcached, with
MemCachier's SASL login, sharding over several servers, a short timeout and
a skip window.

Django's own backend tests decide the contract (memcachier_cache/tests/test_django_contract.py
runs them on one server, three, and a SASL server). Where the line is drawn:

- A programming error raises, as Django specifies: a key memcached can't
  take (InvalidCacheKey, from every operation, the 250-byte limit counted in
  bytes), incr of a missing key (ValueError) or of a value that is not an
  integer (TypeError), a value that can't be pickled.
- An infrastructure fault degrades: a server that is down, hung or refuses
  the login, a value over the item limit, a value that can't be read back
  or whose HMAC does not match (memcachier_cache/values.py).
  It costs a miss (or False, or the keys set_many failed to store) and a log
  line at most once a minute per kind (memcachier_cache/log.py), never
  a 500. incr and decr then raise ValueError, as for a missing key: any
  caller handles that already, since a key can be evicted at any time.
"""

import pickle
import time
from contextlib import contextmanager
from contextvars import ContextVar

from bmemcached.client.constants import SOCKET_TIMEOUT
from django.conf import settings
from django.core.cache.backends.base import DEFAULT_TIMEOUT, InvalidCacheKey
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string
from django_bmemcached.memcached import BMemcached

from memcachier_cache.client import ShardingClient
from memcachier_cache.exceptions import Unreadable
from memcachier_cache.log import degrade, degraded
from memcachier_cache.values import Values

MAX_KEY_BYTES = 250
THIRTY_DAYS = 30 * 24 * 60 * 60
# memcached reads an expiry over 30 days as a Unix time. This one is in
# January 1970, long past: the item expires at once. That is what Django
# means by a timeout of 0 or less; bmemcached stored such values forever.
EXPIRED = THIRTY_DAYS + 1
# The latest expiry the protocol's 32 bits can say (the year 2106).
LATEST_EXPIRY = 0xFFFFFFFF
OPTIONS = {"username", "password", "socket_timeout", "pickle_protocol", "on_round_trip"}
# Keys made and validated, kept per backend instance: a page hit makes the
# same two every time, a rebuild the same row keys.
VALID_KEYS_KEPT = 1024

# Whether set() and set_many() wait for memcached's answer (see
# unacknowledged_writes): per request, whatever the thread.
_unacknowledged = ContextVar("unacknowledged_writes", default=False)


@contextmanager
def unacknowledged_writes(on=True):
    """Within the block, set() and set_many() don't wait for memcached's
    answer (its quiet binary commands) and report success at once.

    Only for writes whose loss leaves nothing stale: values keyed on, or
    carrying, what they were built from. A failure is logged when the
    connection's next round trip reads it; nothing else learns of it, and
    set() leaves the key's older value in place (memcached itself drops it
    when a value is too large). set_now(), add() and every other operation
    wait as ever. unacknowledged_writes(False) makes a block inside one wait
    again. Other cache backends ignore both.
    """
    token = _unacknowledged.set(on)
    try:
        yield
    finally:
        _unacknowledged.reset(token)


class MemCachierCache(BMemcached):
    def __init__(self, server, params):
        super().__init__(server, params)
        unknown = set(self._options) - OPTIONS
        if unknown:
            raise ImproperlyConfigured(
                f"Unknown OPTIONS for {type(self).__name__}: {sorted(unknown)}; valid: {sorted(OPTIONS)}"
            )
        self._class = ShardingClient
        # Values are signed with SECRET_KEY and read with it or a fallback.
        self._values = Values(
            [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS],
            self._options.get("pickle_protocol", pickle.HIGHEST_PROTOCOL),
        )
        self._on_round_trip = self._options.get("on_round_trip")
        if isinstance(self._on_round_trip, str):
            self._on_round_trip = import_string(self._on_round_trip)
        self._client = None
        self._valid_keys = {}

    @property
    def _cache(self):
        # Django gives each thread its own backend instance, so each thread
        # has its own client and connections.
        if self._client is None:
            self._client = self._class(
                self._servers,
                username=self._options.get("username"),
                password=self._options.get("password"),
                socket_timeout=self._options.get("socket_timeout", SOCKET_TIMEOUT),
                on_round_trip=self._on_round_trip,
            )
        return self._client

    # --- keys and timeouts ---------------------------------------------------

    def make_and_validate_key(self, key, version=None):
        # The same key and version always make the same valid key (the
        # prefix, default version and key function are fixed per instance);
        # an invalid one raises every time, as it is never kept. Only plain
        # str keys and int versions: True == 1 would share an entry.
        if type(key) is not str or not (version is None or type(version) is int):
            return super().make_and_validate_key(key, version)
        made = self._valid_keys.get((key, version))
        if made is None:
            made = super().make_and_validate_key(key, version)
            if len(self._valid_keys) >= VALID_KEYS_KEPT:
                self._valid_keys.clear()
            self._valid_keys[key, version] = made
        return made

    def validate_key(self, key):
        super().validate_key(key)  # Django's memcached rules, in characters
        try:
            size = len(key.encode())
        except UnicodeEncodeError:
            raise InvalidCacheKey(f"Cache key is not valid UTF-8: {key!r}") from None
        if size > MAX_KEY_BYTES:
            raise InvalidCacheKey(
                f"Cache key will cause errors if used with memcached: {key!r} "
                f"(longer than {MAX_KEY_BYTES} bytes in UTF-8)"
            )

    def get_backend_timeout(self, timeout=DEFAULT_TIMEOUT):
        """memcached's expiry for a Django timeout (seconds, None or 0)."""
        if timeout is DEFAULT_TIMEOUT:
            timeout = self.default_timeout
        if timeout is None:
            return 0  # memcached's "never expires"
        timeout = int(timeout)
        if timeout <= 0:
            return EXPIRED
        if timeout > THIRTY_DAYS:
            return min(int(time.time()) + timeout, LATEST_EXPIRY)
        return timeout

    # --- reads ---------------------------------------------------------------

    def get(self, key, default=None, version=None):
        key = self.make_and_validate_key(key, version=version)
        return self._get_many([key]).get(key, default)

    def get_many(self, keys, version=None):
        made = {self.make_and_validate_key(key, version=version): key for key in keys}
        return {made[key]: value for key, value in self._get_many(list(made)).items()}

    def _get_many(self, keys):
        values = {}
        for key, stored in self._cache.get_multi(keys).items():
            try:
                values[key] = self._values.loads(key.encode(), *stored)
            except Unreadable as error:
                degrade("get", error)
        return values

    # --- writes --------------------------------------------------------------

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        """Store; True if memcached did (Django's own backends return None)."""
        return self._set(key, value, timeout, version, force=False)

    def set_now(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        """set(), trying the key's server even while this process skips it.

        For the rare write that must not be skipped (a version key's
        bump after a database write): each process's skip window ends at its
        own time, and a process that skips a server the others use again
        would leave them serving what it just changed. Costs one timeout if
        the server is still failing.
        """
        return self._set(key, value, timeout, version, force=True)

    def _set(self, key, value, timeout, version, force):
        key = self.make_and_validate_key(key, version=version)
        stored = self._values.dumps(key.encode(), value)
        expiry = self.get_backend_timeout(timeout)
        with degraded("set"):
            if _unacknowledged.get() and not force:
                self._cache.set_multi_quietly({key: stored}, expiry)
                return True
            return self._cache.set(key, stored, expiry, force=force)
        return False

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        key = self.make_and_validate_key(key, version=version)
        stored = self._values.dumps(key.encode(), value)
        with degraded("add"):
            return self._cache.add(key, stored, self.get_backend_timeout(timeout))
        return False

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        """Store every pair; return the keys that were not stored."""
        original = {}
        stored = {}
        for key, value in data.items():
            made = self.make_and_validate_key(key, version=version)
            original[made] = key
            stored[made] = self._values.dumps(made.encode(), value)
        failed = list(stored)
        with degraded("set_many"):
            if _unacknowledged.get():
                self._cache.set_multi_quietly(stored, self.get_backend_timeout(timeout))
                return []
            failed = self._cache.set_multi(stored, self.get_backend_timeout(timeout))
        return [original[key] for key in failed]

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        key = self.make_and_validate_key(key, version=version)
        with degraded("touch"):
            return self._cache.touch(key, self.get_backend_timeout(timeout))
        return False

    def delete(self, key, version=None):
        """True if the key was there, and is gone."""
        key = self.make_and_validate_key(key, version=version)
        with degraded("delete"):
            return self._cache.delete(key)
        return False

    def delete_many(self, keys, version=None):
        keys = [self.make_and_validate_key(key, version=version) for key in keys]
        self._cache.delete_multi(keys)

    def incr(self, key, delta=1, version=None):
        key = self.make_and_validate_key(key, version=version)
        if not isinstance(delta, int):
            raise TypeError(f"delta must be an integer, not {type(delta).__name__}")
        if abs(delta) >= 2**64:
            raise ValueError("delta is out of memcached's 64-bit range")
        with degraded("incr"):
            # memcached counts down with decr; it has no negative delta.
            return self._cache.decr(key, -delta) if delta < 0 else self._cache.incr(key, delta)
        raise ValueError(f"Key '{key}' not found: memcached is unavailable")

    def decr(self, key, delta=1, version=None):
        return self.incr(key, -delta, version=version)

    def clear(self):
        """memcached's flush_all, on every server: other apps' keys go too."""
        self._cache.flush_all()

    # --- for manage.py cache_stats and the admin's Cache page ---------------------

    def stored_sizes(self, keys, version=None):
        """{key: bytes as memcached holds it} for the keys it holds."""
        made = {self.make_and_validate_key(key, version=version): key for key in keys}
        return {made[key]: len(data) for key, (_, data) in self._cache.get_multi(list(made)).items()}

    def server_stats(self):
        """memcached's own `stats`, per server address (empty if unreachable)."""
        stats = {}
        for server in self._cache.servers:
            stats[server.server] = {}
            with degraded("stats"):
                stats[server.server] = server.server_stats()
        return stats
