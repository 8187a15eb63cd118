"""
What a cached value becomes in memcached, and back: memcached's 32-bit
flags and the stored bytes.

str and bytes are stored as themselves, and an int as its decimal digits, so
that memcached's own incr and decr work on it. Anything else is pickled.
Values over 128 bytes are compressed with zlib when that makes them smaller.
The flags are bmemcached's, so that plain django-bmemcached reads what this
writes.
"""

import pickle
import re
import zlib

from config.memcached.problems import Unreadable

PICKLED, INTEGER, COMPRESSED, BYTES = 1, 2, 8, 16
KNOWN_FLAGS = PICKLED | INTEGER | COMPRESSED | BYTES
COMPRESS_OVER = 128
# memcached's decr pads a number that gets shorter with spaces: "10" - 1 is "9 ".
DIGITS = re.compile(rb"-?[0-9]+ *")


class Values:
    def __init__(self, pickle_protocol=pickle.HIGHEST_PROTOCOL):
        self.pickle_protocol = pickle_protocol

    def dumps(self, value):
        """(flags, bytes) for any picklable value; pickling errors are raised."""
        if isinstance(value, bytes):
            flags, data = BYTES, value
        elif isinstance(value, str):
            flags, data = 0, value.encode()
        elif isinstance(value, int) and not isinstance(value, bool):
            return INTEGER, str(value).encode()
        else:
            flags, data = PICKLED, pickle.dumps(value, self.pickle_protocol)
        if len(data) > COMPRESS_OVER:
            compressed = zlib.compress(data)
            if len(compressed) < len(data):
                flags, data = flags | COMPRESSED, compressed
        return flags, data

    def loads(self, flags, data):
        """The value; Unreadable if these bytes are not one this release can load."""
        if flags & ~KNOWN_FLAGS:
            raise Unreadable(f"unknown flags 0x{flags:x}")
        try:
            if flags & COMPRESSED:
                data = zlib.decompress(data)
            if flags & BYTES:
                return data
            if flags & INTEGER:
                if not DIGITS.fullmatch(data):
                    raise ValueError(f"not an integer: {data[:20]!r}")
                return int(data)
            if flags & PICKLED:
                return pickle.loads(data)
            return data.decode()
        except Exception as error:
            # A truncated or foreign value, or a pickle of a class this
            # release no longer has: a miss, not a 500.
            raise Unreadable(f"{type(error).__name__}: {error}") from error
