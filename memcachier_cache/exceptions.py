"""What can go wrong below the cache API, and which of it is a fault to degrade on."""

from bmemcached.exceptions import MemcachedException


class Unavailable(Exception):
    """The server is down, hung, refused the login, or is being skipped.

    Logged (rate limited) when the server failed: whoever catches this
    treats it as a miss and logs nothing more.
    """


class ServerError(Exception):
    """The server answered with a status the client did not expect."""

    def __init__(self, server, status, message):
        super().__init__(f"{server} answered status 0x{status:02x} ({message or 'no message'})")
        self.status = status


class Unreadable(Exception):
    """A value read from memcached that this release can't or won't load."""


# Infrastructure faults: each costs a miss (or False) and a log line, never
# a 500. bmemcached raises MemcachedException for a few server answers, and
# OSError could only escape it from a socket call it does not wrap.
FAULTS = (Unavailable, ServerError, Unreadable, MemcachedException, OSError)
