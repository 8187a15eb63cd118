"""
Which server holds a key, and the operations that span servers.

With several servers, bmemcached's default Client replicates every write to
every server: no capacity gain, and `add` is no lock. Keys are sharded here
instead, by consistent hashing, so that adding or losing a server moves
only its share of the keys. A key's hash tag, as in Redis Cluster, decides
its server: keys sharing "{tag}" live on one server, so a get_many of them
is a single round trip.

Keys are the backend's validated str keys; values are (flags, bytes) pairs
(memcachier_cache/values.py). A server that fails costs only its own keys.
"""

import re
from collections import defaultdict

from uhashring import HashRing

from memcachier_cache.exceptions import FAULTS
from memcachier_cache.log import degrade
from memcachier_cache.server import (
    ADD,
    DECR,
    EXISTS,
    INCR,
    NON_NUMERIC,
    NOT_FOUND,
    NOT_STORED,
    SET,
    SUCCESS,
    Server,
    not_stored,
)

HASH_TAG = re.compile(r"\{([^}]+)\}")


class ShardingClient:
    def __init__(self, servers, username=None, password=None, socket_timeout=None, on_round_trip=None):
        addresses = list(dict.fromkeys(servers))
        self._servers = [Server(address, username, password, socket_timeout, on_round_trip) for address in addresses]
        self._by_address = dict(zip(addresses, self._servers, strict=True))
        self._ring = HashRing(addresses) if len(addresses) > 1 else None

    @property
    def servers(self):
        return list(self._servers)

    def _get_server(self, key):
        if self._ring is None:
            return self._servers[0]
        tag = HASH_TAG.search(key)
        return self._by_address[self._ring.get_node(tag.group(1) if tag else key)]

    def _by_server(self, keys):
        groups = defaultdict(list)
        for key in keys:
            groups[self._get_server(key)].append(key)
        return groups.items()

    # --- reads ---------------------------------------------------------------

    def get_multi(self, keys):
        """{key: (flags, data)} of the keys found, one round trip per server."""
        found = {}
        for server, server_keys in self._by_server(keys):
            try:
                hits = server.get_multi([key.encode() for key in server_keys])
            except FAULTS as error:
                degrade("get", error)
                continue
            for key in server_keys:
                raw = key.encode()
                if raw in hits:
                    found[key] = hits[raw]
        return found

    # --- writes --------------------------------------------------------------

    def set(self, key, value, expiry, force=False):
        """True if stored. A value that isn't stored leaves no older one behind."""
        server = self._get_server(key)
        status = server.store(SET, key.encode(), *value, expiry, force=force)
        if status == SUCCESS:
            return True
        not_stored(server.server, "set", status, len(value[1]))
        # memcached drops the old value itself when a set is too large; any
        # other refusal must not leave it either (cached_db sessions rely on it).
        self.delete(key)
        return False

    def add(self, key, value, expiry):
        server = self._get_server(key)
        status = server.store(ADD, key.encode(), *value, expiry)
        if status == SUCCESS:
            return True
        if status not in (EXISTS, NOT_STORED):
            not_stored(server.server, "add", status, len(value[1]))
        return False

    def set_multi(self, mapping, expiry):
        """Store {key: value}; return the keys that were not stored."""
        failed = []
        for server, keys in self._by_server(mapping):
            try:
                failures = server.store_multi({key.encode(): mapping[key] for key in keys}, expiry)
            except FAULTS as error:
                degrade("set_many", error)
                failed += keys
                continue
            refused = [key for key in keys if key.encode() in failures]
            for key in refused:
                not_stored(server.server, "set_many", failures[key.encode()], len(mapping[key][1]))
            if refused:
                self.delete_multi(refused)
            failed += refused
        return failed

    def set_multi_quietly(self, mapping, expiry):
        """Store {key: value} without waiting for memcached's replies (see
        Server.store_quietly): for values whose loss leaves nothing stale."""
        for server, keys in self._by_server(mapping):
            server.store_quietly({key.encode(): mapping[key] for key in keys}, expiry)

    def touch(self, key, expiry):
        server = self._get_server(key)
        status = server.touch(key.encode(), expiry)
        if status not in (SUCCESS, NOT_FOUND):
            raise server.error_for(status)
        return status == SUCCESS

    def delete(self, key):
        server = self._get_server(key)
        status = server.delete(key.encode())
        if status not in (SUCCESS, NOT_FOUND):
            raise server.error_for(status)
        return status == SUCCESS

    def delete_multi(self, keys):
        for server, server_keys in self._by_server(keys):
            try:
                server.delete_multi([key.encode() for key in server_keys])
            except FAULTS as error:
                degrade("delete_many", error)

    def incr(self, key, delta):
        return self._arithmetic(INCR, "increment", key, delta)

    def decr(self, key, delta):
        return self._arithmetic(DECR, "decrement", key, delta)

    def _arithmetic(self, opcode, verb, key, delta):
        # On the server, atomically: never a read-modify-write here.
        server = self._get_server(key)
        status, value = server.arithmetic(opcode, key.encode(), delta)
        if status == SUCCESS:
            return value
        if status == NOT_FOUND:
            raise ValueError(f"Key '{key}' not found")
        if status == NON_NUMERIC:
            raise TypeError(f"Can't {verb} key '{key}': it does not hold an unsigned 64-bit integer")
        raise server.error_for(status)

    def flush_all(self):
        for server in self._servers:
            try:
                server.flush()
            except FAULTS as error:
                degrade("clear", error)

    def disconnect_all(self):
        # Only this thread's connections: each thread has its own. The name
        # is pylibmc's and bmemcached's: Django's own backend tests patch
        # it to check that close() reaches the client.
        for server in self._servers:
            server.disconnect()
