"""
A Django cache backend for memcached as MemCachier serves it (SASL, several
servers), built on django-bmemcached: `config.memcached.MemCachierCache`.

One concept per module:

- backend.py: the Django cache API and its contract: keys, timeouts, what
  raises and what degrades;
- values.py: what a value becomes in memcached, and back;
- client.py: which server holds a key (consistent hashing, hash tags), and
  operations over several servers;
- server.py: one server's connection, commands and skip window;
- problems.py: the faults that cost a miss, and their rate-limited log.
"""

from config.memcached.backend import MemCachierCache, unacknowledged_writes

__all__ = ["MemCachierCache", "unacknowledged_writes"]
