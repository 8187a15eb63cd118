"""
What a cached value becomes in memcached, and back: memcached's 32-bit
flags and the stored bytes.

Anyone who can write to the cache (anyone holding its credentials, or
another app sharing it) could otherwise make every worker unpickle what
they stored, and run their code. So every value is stored with an HMAC of
its key, flags and bytes, keyed from SECRET_KEY, and nothing is decompressed
or unpickled before its HMAC checks out (with SECRET_KEY or one of
SECRET_KEY_FALLBACKS, for rotation). A forged, foreign or corrupt value is a
miss (Unreadable), never loaded. The key is in the HMAC, so a genuine value
can't be moved under another key either.

str and bytes are stored as themselves, anything else but int is pickled,
and values over 128 bytes are compressed with zlib when that makes them
smaller. An int is the one value stored bare, as its decimal digits:
memcached's own incr and decr, which Django's contract needs atomic on the
server, only work on those. It is parsed strictly as digits, never
unpickled; a forged counter can only be a wrong number, and every reader in
this app checks the type of what it gets.

Checking and unzipping a big value costs more than fetching it (for the
page of 100 tasks, about a tenth of a hit), and a hot key holds the same
bytes for many reads. So the process keeps the last few compressed str and
bytes values it loaded, with the exact bytes they came from: bytes equal to
those, under the same key and flags, checked with the same secrets, load to
the same value, so they are not checked again. Pickled values are never
kept: each read must get its own copy of a mutable object.
"""

import hashlib
import hmac
import pickle
import re
import threading
import zlib

from memcachier_cache.exceptions import Unreadable

PICKLED, INTEGER, COMPRESSED, BYTES, SIGNED = 1, 2, 8, 16, 256
MAC_BYTES = 32
COMPRESS_OVER = 128
# memcached's decr pads a number that gets shorter with spaces: "10" - 1 is "9 ".
DIGITS = re.compile(rb"-?[0-9]+ *")
SALT = b"memcachier_cache.values"
# Loaded values the process keeps: the app's big keys are the page and the
# list fragment.
KEPT_VALUES = 8
# (the secrets' MAC keys, key) -> (flags, stored bytes, value). One for the
# process: Django makes a backend, and so a Values, per alias and thread.
_kept = {}
_keeping = threading.Lock()


def _keep(kept_as, entry):
    # A worker's threads share the dict: reading it needs no lock (a get is
    # atomic), changing it does (finding the oldest iterates).
    with _keeping:
        if kept_as not in _kept and len(_kept) >= KEPT_VALUES:
            del _kept[next(iter(_kept))]
        _kept[kept_as] = entry


def mac_key(secret):
    """The HMAC key for one secret, separate from every other use of SECRET_KEY."""
    if isinstance(secret, str):
        secret = secret.encode()
    return hashlib.sha256(SALT + secret).digest()


class Values:
    def __init__(self, secrets, pickle_protocol=pickle.HIGHEST_PROTOCOL):
        """secrets: SECRET_KEY first (it signs), then SECRET_KEY_FALLBACKS."""
        self._mac_keys = [mac_key(secret) for secret in secrets]
        # One HMAC per secret, copied for each value: hmac.digest() looks
        # SHA-256 up in OpenSSL on every call, which cost a page hit about
        # 15 µs (its version key's check), against 5 for a copy.
        self._macs = [hmac.new(mac_key, digestmod=hashlib.sha256) for mac_key in self._mac_keys]
        self.pickle_protocol = pickle_protocol
        self._kept_as = tuple(self._mac_keys)

    def dumps(self, key, value):
        """(flags, bytes) to store value under key (bytes); pickling errors raise."""
        if isinstance(value, int) and not isinstance(value, bool):
            return INTEGER, str(value).encode()
        if isinstance(value, bytes):
            flags, data = BYTES, value
        elif isinstance(value, str):
            flags, data = 0, value.encode()
        else:
            flags, data = PICKLED, pickle.dumps(value, self.pickle_protocol)
        if len(data) > COMPRESS_OVER:
            compressed = zlib.compress(data)
            if len(compressed) < len(data):
                flags, data = flags | COMPRESSED, compressed
        flags |= SIGNED
        return flags, self._mac(self._macs[0], key, flags, data) + data

    def loads(self, key, flags, data):
        """The value stored under key; Unreadable if it is not one of ours, intact."""
        kept = _kept.get((self._kept_as, key))
        if kept is not None and kept[0] == flags and kept[1] == data:
            return kept[2]
        value = self._load(key, flags, data)
        if flags & COMPRESSED and not flags & PICKLED:
            _keep((self._kept_as, key), (flags, data, value))
        return value

    def _load(self, key, flags, data):
        if flags == INTEGER:
            if not DIGITS.fullmatch(data):
                raise Unreadable(f"not an integer: {data[:20]!r}")
            return int(data)
        if flags & ~(PICKLED | COMPRESSED | BYTES | SIGNED) or not flags & SIGNED:
            raise Unreadable(f"not a value this app signed (flags 0x{flags:x}); not loaded")
        tag, data = data[:MAC_BYTES], data[MAC_BYTES:]
        if not any(hmac.compare_digest(tag, self._mac(mac, key, flags, data)) for mac in self._macs):
            raise Unreadable("its HMAC does not match (forged, corrupt, or another SECRET_KEY); not loaded")
        try:
            if flags & COMPRESSED:
                data = zlib.decompress(data)
            if flags & BYTES:
                return data
            if flags & PICKLED:
                return pickle.loads(data)
            return data.decode()
        except Exception as error:
            # Genuine, but not loadable here: a pickle of a class this
            # release no longer has, say. A miss, not a 500.
            raise Unreadable(f"{type(error).__name__}: {error}") from error

    @staticmethod
    def _mac(mac, key, flags, data):
        mac = mac.copy()
        mac.update(len(key).to_bytes(1, "big") + key + flags.to_bytes(4, "big"))
        mac.update(data)
        return mac.digest()
