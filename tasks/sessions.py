"""
Sessions cached in memcached and written through to the database (Django's
cached_db), where a logout that can't reach memcached is refused instead of
being undone when memcached comes back. docs/sessions.md says why, which
changes need memcached, and the races with other requests that the
tombstones below close.
"""

import logging

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends import cached_db
from django.core.cache.backends.base import InvalidCacheKey
from django.core.exceptions import ValidationError
from django.db import DatabaseError, InterfaceError
from django.utils.crypto import constant_time_compare

from memcachier_cache import unacknowledged_writes
from tasks.refusals import RETRY_SOON_SECONDS, refusal
from tasks.typed_reads import unexpected

logger = logging.getLogger(__name__)
LOGGED_OUT = "logged-out"


class SessionCacheUnavailable(Exception):
    """A logged-in session can't be ended: memcached did not confirm it."""


class SessionStore(cached_db.SessionStore):
    def __init__(self, session_key=None):
        super().__init__(session_key)
        self._buried = None  # the key this store has put a tombstone on

    def load(self):
        try:
            data = self._cache.get(self.cache_key)
        except Exception:
            data = None  # an invalid key, handled as Django's own load() does (#17810)
        if data == LOGGED_OUT:
            # This session must not exist, but its row may: a logout can
            # stop after its tombstone (memcached answered too late, or the
            # row's delete failed). Once the tombstone is evicted or
            # flushed, that row would log the cookie in again. A database
            # error propagates: the cookie stays, and its next request
            # tries again.
            cached_db.DBStore.delete(self, self.session_key)
            self._session_key = None
            return {}
        if isinstance(data, dict):
            return data
        if data is not None:
            unexpected(data, "a session")
        # add(), not set(): a logout's tombstone stored meanwhile must stay.
        # So a value of another type stays too, and is a miss (from the
        # database) until the session is next saved.
        stored = self._get_session_from_db()
        if not stored:
            return {}
        data = self.decode(stored.session_data)
        self._cache.add(self.cache_key, data, self.get_expiry_age(expiry=stored.expire_date))
        return data

    def exists(self, session_key):
        if session_key:
            try:
                cached = self._cache.get(self.cache_key_prefix + session_key)
            except InvalidCacheKey:
                cached = None
            if cached == LOGGED_OUT:
                return False
            if isinstance(cached, dict):
                return True
            if cached is not None:
                unexpected(cached, "a session")
        return cached_db.DBStore.exists(self, session_key)

    def flush(self):
        session_key = self.session_key
        ending_a_login = session_key and SESSION_KEY in self._session
        if ending_a_login:
            # Ending a login: the tombstone first, so that a refused logout
            # deletes nothing.
            self._bury(session_key, required=True)
        try:
            super().flush()
        except (DatabaseError, InterfaceError):
            if ending_a_login:
                # The row is most likely still there, and the visitor keeps
                # the cookie and is told the database failed: take the
                # tombstone back, so that nothing has changed. Should that
                # fail too, the tombstone stays, and load() ends the session
                # when the cookie comes back.
                self._cache.delete(self.cache_key_prefix + session_key)
                self._buried = None
            raise

    def save(self, must_create=False):
        super().save(must_create)
        if must_create or SESSION_KEY not in self._session:
            return
        # A logout of this session may have deleted the row after this save
        # updated it, and buried the key before this save cached it: bury
        # it again. One query, on saves of a logged-in session only.
        if not cached_db.DBStore.exists(self, self.session_key):
            self._bury(self.session_key, required=False)

    def cycle_key(self):
        if self.session_key and self._holds_a_valid_login():
            # Before anything changes, as for a logout: the old key must not
            # come back from the cache once the database row is gone.
            self._bury(self.session_key, required=True)
        super().cycle_key()

    def _holds_a_valid_login(self):
        """Would this session's login still be accepted, were it served again?"""
        user_id = self._session.get(SESSION_KEY)
        if user_id is None:
            return False
        user_model = get_user_model()
        try:
            user = user_model._default_manager.get(pk=user_model._meta.pk.to_python(user_id))
        except (user_model.DoesNotExist, ValidationError):
            return False
        if not hasattr(user, "get_session_auth_hash"):
            return True
        stored = self._session.get(HASH_SESSION_KEY) or ""
        valid = [user.get_session_auth_hash(), *user.get_session_auth_fallback_hash()]
        return any(constant_time_compare(stored, hash) for hash in valid)

    def delete(self, session_key=None):
        session_key = session_key or self.session_key
        if session_key is None:
            return
        if session_key != self._buried:
            self._bury(session_key, required=False)
        # Straight to the database: cached_db's own delete() would delete
        # the tombstone again.
        cached_db.DBStore.delete(self, session_key)
        # And the tombstone again: a save of the same session by another
        # request, which updated the row just before it went, may have
        # cached the session over the first one.
        self._bury(session_key, required=False)

    def _bury(self, session_key, required):
        # A tombstone must know it was stored: never a write that doesn't
        # wait for the answer. Not set_now, though: while this process skips
        # a hung server, a set sent anyway would sit in the server's socket
        # and could land long after the visitor was told to try again. The
        # skip window (5 s) is shorter than the 503's Retry-After.
        try:
            with unacknowledged_writes(False):
                stored = self._cache.set(self.cache_key_prefix + session_key, LOGGED_OUT, settings.SESSION_COOKIE_AGE)
        except InvalidCacheKey:
            stored = True  # a key memcached can't take was never cached
        if stored is False and required:
            logger.warning("memcached could not store a logout: refused it, the session is unchanged")
            raise SessionCacheUnavailable()
        self._buried = session_key

    async def aload(self):
        return await sync_to_async(self.load)()

    async def aexists(self, session_key):
        return await sync_to_async(self.exists)(session_key)

    async def aflush(self):
        await sync_to_async(self.flush)()

    async def adelete(self, session_key=None):
        await sync_to_async(self.delete)(session_key)


class SessionCacheMiddleware:
    """Answer SessionCacheUnavailable with a 503 that says what happened."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, SessionCacheUnavailable):
            return None
        return refusal(
            request,
            503,
            "Logout not confirmed",
            "Your logout (or the renewal of your login) could not be confirmed: the session cache did not "
            "answer in time. Please try again in a moment.",
            retry_after=RETRY_SOON_SECONDS,
        )
