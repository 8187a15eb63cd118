"""
One memcached server: its connection, the commands the backend sends it, and
the skip window that keeps a failing server from costing a timeout on every
operation.

bmemcached's Protocol is kept for what it does well: the socket, the SASL
login and reading a response. Its commands are not used, because they break
Django's cache contract: they can't tell a stored None from a miss, report a
missing key as deleted, create a missing key on incr, have no touch, and
store a value whose timeout is 0 or in the past forever. The commands here
are short and follow the protocol's specification:
https://github.com/memcached/memcached/wiki/BinaryProtocolRevamped
They take and return raw bytes: what a value means is memcachier_cache/values.py's business.
"""

import select
import socket
import struct
import threading
import time
from typing import NamedTuple

from bmemcached.protocol import Protocol

from memcachier_cache.exceptions import ServerError, Unavailable
from memcachier_cache.log import problems

# How long a server that failed is left alone before it is tried again.
RETRY_DELAY_SECONDS = 5

HEADER = struct.Struct("!BBHBBHLLQ")
MAGIC_REQUEST, MAGIC_RESPONSE = 0x80, 0x81
RECEIVE_SIZE = 65536
STORE_EXTRAS = struct.Struct("!LL")  # flags, expiry
ARITHMETIC_EXTRAS = struct.Struct("!QQL")  # delta, initial value, expiry
EXPIRY_EXTRAS = struct.Struct("!L")
FLAGS = struct.Struct("!L")
COUNTER = struct.Struct("!Q")

# Opcodes. The quiet ones (GETKQ, SETQ, DELETEQ) answer only when they have
# something to say: a hit, or a failure.
GET, SET, ADD, DELETE, INCR, DECR, FLUSH, NOOP = 0x00, 0x01, 0x02, 0x04, 0x05, 0x06, 0x08, 0x0A
GETK, GETKQ, SETQ, DELETEQ, TOUCH = 0x0C, 0x0D, 0x11, 0x14, 0x1C

# Response statuses.
SUCCESS, NOT_FOUND, EXISTS, TOO_LARGE, NOT_STORED, NON_NUMERIC = 0x00, 0x01, 0x02, 0x03, 0x05, 0x06
AUTH_ERROR = 0x20  # a refused SASL login, or an operation sent without one
DISCONNECTED = Protocol.STATUS["server_disconnected"]  # bmemcached's own, never sent by a server

# The expiry of an incr/decr that must fail on a missing key, not create it.
NO_CREATE = 0xFFFFFFFF
# Opaques of quiet writes, apart from those of a round trip (0, 1, 2...).
QUIET_OPAQUES = 1 << 31


class Response(NamedTuple):
    opcode: int
    status: int
    opaque: int
    extras: bytes
    key: bytes
    value: bytes


class Health:
    """Whether a server is being skipped, shared by every thread of the process.

    Django gives each thread its own cache backend, so each thread has its
    own connections; a window kept per connection would let a hung server
    cost one timeout per thread. One per server (and login) instead.
    """

    _registry = {}
    _lock = threading.Lock()

    @classmethod
    def of(cls, address, username):
        with cls._lock:
            return cls._registry.setdefault((address, username), cls())

    @classmethod
    def forget_all(cls):
        """Every server is worth trying again (for tests)."""
        with cls._lock:
            for health in cls._registry.values():
                health.recover()

    def __init__(self):
        self.skip_until = 0.0

    def skipping(self):
        return time.monotonic() < self.skip_until

    def skip(self, seconds):
        self.skip_until = time.monotonic() + seconds

    def recover(self):
        self.skip_until = 0.0


class Server(Protocol):
    """A connection to one server, skipped for a while after any failure.

    bmemcached only defers reconnecting after a failed *connect*: a server
    that accepts connections but never answers would cost socket_timeout on
    every operation. Here any failure (connect, timeout, reset, a refused
    login) opens a skip window of retry_delay seconds for the whole process.
    Operations skipped inside the window are not new failures: they don't
    move it, or under steady traffic a server that came back would never be
    used again.

    Protocol is a threading.local: each thread has its own socket, and
    __init__ runs again, with the same arguments, in every thread that
    uses the object.
    """

    def __init__(self, address, username=None, password=None, socket_timeout=None, on_round_trip=None):
        super().__init__(address, username=username, password=password, socket_timeout=socket_timeout)
        # Called with the seconds each round trip took (OPTIONS["on_round_trip"]).
        self.on_round_trip = on_round_trip
        self.set_retry_delay(RETRY_DELAY_SECONDS)
        self.health = Health.of(address, username)
        self._forcing = False
        self._opening = False
        # Quiet writes sent on this thread's connection and not yet known
        # to be done: opaque -> size (see store_quietly).
        self._unconfirmed = {}
        self._next_quiet = QUIET_OPAQUES
        self._buffer = bytearray()  # received, not yet read (see _take)

    # --- connection and failures -------------------------------------------

    def _open_connection(self):
        if self.connection is not None:
            return
        if self.health.skipping() and not self._forcing:
            return  # bmemcached then reports "Delaying reconnection attempt"
        try:
            self._opening = True
            super()._open_connection()
            if self.connection is not None and self.host:
                # Nagle's algorithm would hold a quiet write back until the
                # server acknowledges the last packet (up to 40 ms, delayed
                # ACK): the write no one waits for would land late.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError as error:
            self._failed(error)
            raise
        finally:
            self._opening = False
            # bmemcached's own per-thread window; the shared one replaces it.
            self.reconnects_deferred_until = None

    def _connection_error(self, exception):
        was_connected = self.connection is not None
        super()._connection_error(exception)
        if was_connected:
            self._failed(exception)

    def disconnect(self):
        super().disconnect()
        self._unconfirmed.clear()  # whatever they were, they are lost
        self._buffer.clear()

    def _send(self, data):
        # Not while opening: the SASL login sends on the new connection, and
        # a server that closes it on a refused login would be reopened (and
        # refuse again) without end.
        if self.connection is not None and not self._opening and self._closed_while_idle():
            # memcached (or something between) closed this connection since
            # its last use: a restart, an idle timeout. Take a fresh one: not
            # a failure. Otherwise the first command on it fails, the whole
            # process skips the server for 5 s, and a version bump sent
            # then is owed while other processes serve the old list.
            self.disconnect()
        super()._send(data)

    def _closed_while_idle(self):
        if self._buffer:
            return False  # mid-conversation: answers are waiting to be read
        # poll, not recv(MSG_DONTWAIT): on a socket with a timeout, CPython
        # waits for it to become readable, up to the whole timeout, before
        # it calls recv at all.
        poller = select.poll()
        poller.register(self.connection, select.POLLIN)
        if not poller.poll(0):
            return False  # nothing waiting: the healthy idle case
        try:
            # Readable: an answer to a quiet write, or the server's FIN (b"").
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except ValueError:
            return False  # a TLS socket can't peek; its next command fails as before
        except OSError:
            return True  # reset

    def _take(self, size):
        """The next `size` bytes the server sent."""
        buffer = self._buffer
        while len(buffer) < size:
            chunk = self.connection.recv(max(RECEIVE_SIZE, size - len(buffer)))
            if not chunk:
                raise OSError("the server closed the connection")
            buffer += chunk
        taken = bytes(buffer[:size])
        del buffer[:size]
        return taken

    def _failed(self, error):
        self._forcing = False  # one forced attempt, not a reconnect after it failed
        self.health.skip(self.retry_delay)
        # self.server is host:port only; credentials never reach the log.
        problems.warning(
            f"down:{self.server}",
            "memcached %s failed (%s); serving without it for %d s",
            self.server,
            str(error) or type(error).__name__,
            self.retry_delay,
        )

    def _get_response(self):
        """One response, as bmemcached's own: its fields, the body last.

        Read through a buffer: one recv usually brings every response of a
        round trip, where bmemcached makes two calls for each (header,
        then body).
        """
        try:
            self._open_connection()
            if self.connection is None:
                raise OSError("Delaying reconnection attempt")  # bmemcached's words, as it would say them
            fields = HEADER.unpack(self._take(HEADER.size))
            if fields[0] != MAGIC_RESPONSE:
                self.disconnect()  # out of step: this connection can't be trusted again
                raise ServerError(self.server, DISCONNECTED, f"a response with magic 0x{fields[0]:02x}")
            response = (*fields, self._take(fields[6]) if fields[6] else None)
        except OSError as error:
            self._connection_error(error)
            return (MAGIC_RESPONSE, -1, 0, 0, 0, DISCONNECTED, 0, 0, 0, str(error))
        if response[5] != AUTH_ERROR:
            return response
        # memcached hangs up after a refused login, and bmemcached would log
        # in again for the next operation: skip this server like one that is
        # down, and say what to fix. Never the credentials themselves.
        self.disconnect()
        self._forcing = False  # a forced attempt logs in once, not again
        self.health.skip(self.retry_delay)
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
        return (MAGIC_RESPONSE, -1, 0, 0, 0, DISCONNECTED, 0, 0, 0, None)

    # --- requests ------------------------------------------------------------

    @staticmethod
    def packet(opcode, key=b"", extras=b"", value=b"", opaque=0):
        body_length = len(extras) + len(key) + len(value)
        return (
            HEADER.pack(MAGIC_REQUEST, opcode, len(key), len(extras), 0, 0, body_length, opaque, 0)
            + extras
            + key
            + value
        )

    def exchange(self, packet, last, force=False):
        """Send requests in one write; return the responses up to the one
        whose opaque is `last` (the final, non-quiet request): one round trip.

        force tries the server even inside its skip window, and ends the
        window if it answers.
        """
        if self.health.skipping() and not force:
            raise Unavailable(self.server)
        self._forcing = force
        started = time.perf_counter()
        try:
            self._send(packet)
            if self.connection is None:
                # Not sent: the connection failed, or another thread opened
                # the skip window since the check above.
                raise Unavailable(self.server)
            responses = []
            while not responses or responses[-1].opaque != last:
                response = self._read()
                if response.opaque in self._unconfirmed:
                    # An earlier quiet write that memcached refused: its
                    # answer comes before this round trip's own.
                    not_stored(self.server, "quiet set", response.status, self._unconfirmed.pop(response.opaque))
                    continue
                responses.append(response)
            # memcached does a connection's commands in order: every earlier
            # quiet write is done, and has said so if it failed.
            self._unconfirmed.clear()
        finally:
            self._forcing = False
            if self.on_round_trip is not None:
                self.on_round_trip(time.perf_counter() - started)
        if force:
            self.health.recover()
        return responses

    def _read(self):
        _, opcode, key_length, extras_length, _, status, _, opaque, _, body = self._get_response()
        if status == DISCONNECTED:
            raise Unavailable(self.server)
        body = body or b""
        key_end = extras_length + key_length
        return Response(opcode, status, opaque, body[:extras_length], body[extras_length:key_end], body[key_end:])

    def call(self, opcode, key=b"", extras=b"", value=b"", force=False):
        (response,) = self.exchange(self.packet(opcode, key, extras, value), last=0, force=force)
        return response

    def error_for(self, status, message=b""):
        return ServerError(self.server, status, message.decode(errors="replace"))

    # --- commands ----------------------------------------------------------

    def get_multi(self, keys):
        """{key: (flags, data)} for the keys (bytes) this server holds."""
        last = len(keys) - 1
        packet = b"".join(
            self.packet(GETK if opaque == last else GETKQ, key, opaque=opaque) for opaque, key in enumerate(keys)
        )
        found = {}
        for response in self.exchange(packet, last):
            if response.status == SUCCESS:
                found[response.key] = (FLAGS.unpack(response.extras)[0], response.value)
            elif response.status != NOT_FOUND:
                raise self.error_for(response.status, response.value)
        return found

    def store(self, opcode, key, flags, data, expiry, force=False):
        """SET or ADD; the response status."""
        return self.call(opcode, key, STORE_EXTRAS.pack(flags, expiry), data, force=force).status

    def store_multi(self, items, expiry):
        """Quiet sets of {key: (flags, data)}, then a noop: {key: status} of the failures."""
        keys = list(items)
        packet = b"".join(
            self.packet(SETQ, key, STORE_EXTRAS.pack(flags, expiry), data, opaque=opaque)
            for opaque, (key, (flags, data)) in enumerate(items.items())
        )
        responses = self.exchange(packet + self.packet(NOOP, opaque=len(keys)), last=len(keys))
        return {keys[response.opaque]: response.status for response in responses[:-1]}

    def store_quietly(self, items, expiry):
        """SETQ of {key: (flags, data)}, without waiting for an answer.

        memcached answers a quiet set only if it fails. That answer is read,
        and reported, at this connection's next round trip; a write to a
        server that is skipped, down or hung is simply lost. So this is only
        for values whose loss leaves nothing stale: ones keyed on, or
        carrying, what they were built from (see unacknowledged_writes).
        """
        if self.health.skipping():
            return
        sizes, packets = {}, []
        for key, (flags, data) in items.items():
            opaque = self._next_quiet
            self._next_quiet = opaque + 1 if opaque < 0xFFFFFFFF else QUIET_OPAQUES
            sizes[opaque] = len(data)
            packets.append(self.packet(SETQ, key, STORE_EXTRAS.pack(flags, expiry), data, opaque=opaque))
        self._send(b"".join(packets))
        # Only once sent: sending may have replaced the connection, and with
        # it forgotten what was unconfirmed on the old one.
        if self.connection is not None:
            self._unconfirmed.update(sizes)

    def touch(self, key, expiry):
        return self.call(TOUCH, key, EXPIRY_EXTRAS.pack(expiry)).status

    def delete(self, key):
        return self.call(DELETE, key).status

    def delete_multi(self, keys):
        packet = b"".join(self.packet(DELETEQ, key, opaque=opaque) for opaque, key in enumerate(keys))
        for response in self.exchange(packet + self.packet(NOOP, opaque=len(keys)), last=len(keys))[:-1]:
            if response.status != NOT_FOUND:
                raise self.error_for(response.status, response.value)

    def arithmetic(self, opcode, key, delta):
        """INCR or DECR of an existing counter: (status, new value or None)."""
        response = self.call(opcode, key, ARITHMETIC_EXTRAS.pack(delta, 0, NO_CREATE))
        if response.status != SUCCESS:
            return response.status, None
        return SUCCESS, COUNTER.unpack(response.value)[0]

    def flush(self):
        response = self.call(FLUSH)
        if response.status != SUCCESS:
            raise self.error_for(response.status, response.value)

    def server_stats(self):
        """memcached's own `stats` ({} if unreachable)."""
        if self.health.skipping():
            return {}
        if self._unconfirmed:
            # Answers to earlier quiet writes come first: read them (and
            # report a refusal) here, or bmemcached's stats() takes them
            # for stats.
            try:
                self.exchange(self.packet(NOOP), last=0)
            except Unavailable:
                return {}
        return {name: value.decode() for name, value in self.stats().items()}


def not_stored(server, operation, status, size):
    """Report a value memcached refused: over its item limit, or else."""
    if status == TOO_LARGE:
        problems.warning(
            "too-large",
            "memcached %s refused a value of %d bytes (%s): over its item limit, not cached",
            server,
            size,
            operation,
        )
        return
    problems.warning(
        f"not-stored:{status}",
        "memcached %s did not store a value (%s, status 0x%02x); treated as a cache miss",
        server,
        operation,
        status,
    )
