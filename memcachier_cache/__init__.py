"""
A Django cache backend for memcached as MemCachier serves it (SASL, several
servers), built on django-bmemcached, that keeps Django's whole cache
contract: memcachier_cache/README.md says how to use it.

Public interface:

- MemCachierCache: the backend (CACHES["default"]["BACKEND"] =
  "memcachier_cache.MemCachierCache"); its OPTIONS are in cache.py;
- unacknowledged_writes: a block whose set() and set_many() don't wait for
  memcached's answer;
- the "memcachier_cache" logger: faults, rate limited.

One concept per module:

- cache.py: the Django cache API and its contract: keys, timeouts, what
  raises and what degrades;
- values.py: what a value becomes in memcached, and back (signed);
- client.py: which server holds a key (consistent hashing, hash tags), and
  operations over several servers;
- server.py: one server's connection, commands and skip window;
- exceptions.py: what can go wrong, and which of it degrades;
- log.py: faults logged once a minute per kind.
"""

from memcachier_cache.cache import MemCachierCache, unacknowledged_writes

__all__ = ["MemCachierCache", "unacknowledged_writes"]
