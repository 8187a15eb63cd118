"""
django-bmemcached, fixed for a hosted memcached such as MemCachier.

django-bmemcached's defaults are wrong for production in three ways:

- several servers get bmemcached's ReplicatingClient, which writes every key
  to every server: no sharding, no capacity gain, and `add` is no lock.
  We use DistributedClient (consistent hashing) instead.
- a server that accepts connections but never answers costs socket_timeout on
  every operation of every request, because bmemcached only waits before
  reconnecting after a failed *connect*. We skip a server for a few seconds
  after any connection error (see SkippingServer).
- a value over the 1 MB item limit, a key the server rejects or a bad SASL
  password raise MemcachedException out of the request, and a key Django
  accepts can still be over memcached's 250 bytes. A cache problem must
  cost a cache miss, not a 500: every operation here degrades to a miss and
  logs the problem, at most once per minute per kind.
"""

import logging
import re
import threading
import time
from datetime import datetime, timedelta
from functools import partialmethod, wraps

import bmemcached
from bmemcached.exceptions import MemcachedException
from bmemcached.protocol import Protocol
from django.core.cache.backends.base import DEFAULT_TIMEOUT, InvalidCacheKey
from django_bmemcached.memcached import BMemcached

logger = logging.getLogger(__name__)

# How long a server that failed is left alone before we try it again.
RETRY_DELAY_SECONDS = 5
# At most one log line per kind of problem in this interval (per process).
LOG_INTERVAL_SECONDS = 60
# memcached's binary protocol status for a refused or missing SASL login.
AUTH_ERROR = 0x20


class RateLimitedLog:
    """Log a recurring problem once, then once per interval with a count."""

    def __init__(self, interval):
        self.interval = interval
        self._lock = threading.Lock()
        self._last = {}  # kind -> (time logged, occurrences since)

    def log(self, level, kind, message, *args):
        now = time.monotonic()
        with self._lock:
            logged_at, suppressed = self._last.get(kind, (None, 0))
            if logged_at is not None and now - logged_at < self.interval:
                self._last[kind] = (logged_at, suppressed + 1)
                return
            self._last[kind] = (now, 0)
        if suppressed:
            message += " (%d more since the last report)"
            args += (suppressed,)
        logger.log(level, message, *args)

    warning = partialmethod(log, logging.WARNING)
    error = partialmethod(log, logging.ERROR)


problems = RateLimitedLog(LOG_INTERVAL_SECONDS)


class SkippingServer(Protocol):
    """A bmemcached server connection that is skipped for a while after an error.

    bmemcached calls _connection_error on any socket error, timeouts included,
    but only defers reconnection after a failed *connect*: a hung server would
    cost socket_timeout on every operation. Here any failure of a live
    connection, or of a connect, opens a skip window of retry_delay seconds:
    one timeout per window per process, whatever the load.

    While skipping, bmemcached reports every operation as a connection error
    too ("Delaying reconnection attempt"). Those are not new failures and must
    not move the window, or under steady traffic it would never end and the
    server, once back, would never be used again.
    """

    def _open_connection(self):
        try:
            super()._open_connection()
        except OSError as error:
            # bmemcached has deferred the next attempt already.
            self._report(error)
            raise

    def _connection_error(self, exception):
        was_connected = self.connection is not None
        super()._connection_error(exception)
        if was_connected:
            self._skip()
            self._report(exception)

    def _skip(self):
        self.reconnects_deferred_until = datetime.now() + timedelta(seconds=self.retry_delay)

    def _report(self, exception):
        # self.server is host:port only; credentials never reach the log.
        problems.warning(
            f"down:{self.server}",
            "memcached %s failed (%s); serving without it for %d s",
            self.server,
            str(exception) or type(exception).__name__,
            self.retry_delay,
        )

    def _get_response(self):
        response = super()._get_response()
        if response[5] != AUTH_ERROR:
            return response
        # A refused SASL login, or an operation sent without one. memcached
        # hangs up after it, and bmemcached would raise on every operation
        # and log in again for the next one: skip this server like one that
        # is down, and say what to fix. Never the credentials themselves.
        self.disconnect()
        self._skip()
        if self._username and self._password:
            problem = "refused the SASL login: check MEMCACHIER_USERNAME and MEMCACHIER_PASSWORD"
        else:
            problem = "requires a SASL login: set MEMCACHIER_USERNAME and MEMCACHIER_PASSWORD"
        problems.error(
            f"login:{self.server}",
            "memcached %s %s. Serving without the cache, retrying every %d s",
            self.server,
            problem,
            self.retry_delay,
        )
        return (self.MAGIC["response"], -1, 0, 0, 0, self.STATUS["server_disconnected"], 0, 0, 0, None)


# A key's "hash tag", as in Redis Cluster: keys sharing {tag} live on one
# server, so a get_many of them is a single round trip.
HASH_TAG = re.compile(r"\{([^}]+)\}")


class ShardingClient(bmemcached.DistributedClient):
    def set_servers(self, servers):
        super().set_servers(servers)
        for server in self._servers:
            # SkippingServer only overrides a method and adds no state, so
            # re-classing beats copying bmemcached's constructor call here.
            server.__class__ = SkippingServer
            server.set_retry_delay(RETRY_DELAY_SECONDS)

    def _get_server(self, key):
        tag = HASH_TAG.search(key)
        return super()._get_server(tag.group(1) if tag else key)


def tolerant(default):
    """Turn a memcached error inside a cache operation into `default`."""

    def decorate(method):
        @wraps(method)
        def wrapper(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except (MemcachedException, OSError, InvalidCacheKey) as error:
                problems.warning(
                    f"{method.__name__}:{type(error).__name__}",
                    "memcached %s failed: %s; treated as a cache miss",
                    method.__name__,
                    error,
                )
                return default() if callable(default) else default

        return wrapper

    return decorate


class MemCachierCache(BMemcached):
    """django-bmemcached with sharding, fast failure and no exceptions."""

    @property
    def _cache(self):
        client = getattr(self, "_client", None)
        if client is None:
            client = self._client = ShardingClient(self._servers, **self._options)
        return client

    @tolerant(default=None)
    def get(self, key, default=None, version=None):
        value = super().get(key, version=version)
        return default if value is None else value

    @tolerant(default=dict)
    def get_many(self, keys, version=None):
        return super().get_many(keys, version=version)

    @tolerant(default=False)
    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        key = self.make_and_validate_key(key, version=version)
        stored = False
        try:
            stored = bool(self._cache.set(key, value, self.get_backend_timeout(timeout)))
            return stored
        finally:
            if not stored:
                # Too large, say: don't leave an older value under this key.
                self._delete_quietly(key)

    @tolerant(default=False)
    def set_now(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        """set(), trying the key's server even if this process is skipping it.

        For the rare write that must not be skipped (tasks.cache's version
        bump after a database write): each process's skip window ends at its
        own time, and a process that skips a server the others use again
        would leave them serving what it just changed. Costs one timeout if
        the server is still failing.
        """
        server = self._cache._get_server(self.make_and_validate_key(key, version=version))
        server.reconnects_deferred_until = None
        return self.set(key, value, timeout, version=version)

    def _delete_quietly(self, key):
        try:
            self._cache.delete(key)
        except MemcachedException:
            pass

    @tolerant(default=list)
    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return super().set_many(data, timeout=timeout, version=version)

    @tolerant(default=False)
    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return super().add(key, value, timeout=timeout, version=version)

    @tolerant(default=False)
    def delete(self, key, version=None):
        return super().delete(key, version=version)

    @tolerant(default=None)
    def delete_many(self, keys, version=None):
        return super().delete_many(keys, version=version)

    @tolerant(default=None)
    def clear(self):
        return super().clear()

    def validate_key(self, key):
        super().validate_key(key)
        # Django counts characters; memcached counts bytes, and drops the
        # connection on a key over 250 bytes. Refuse it here instead.
        if len(key.encode()) > 250:
            raise InvalidCacheKey(f"Cache key is over memcached's 250 bytes: {key[:50]!r}...")

    def server_stats(self):
        """memcached's own `stats`, per server address (empty if unreachable)."""
        return {
            server.server: {name: value.decode() for name, value in server.stats().items()}
            for server in self._cache.servers
        }
