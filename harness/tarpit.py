"""
A "hung" server: accepts TCP connections on loopback and never answers.

A memcached that is stuck (swapping, SIGSTOPped, a network path that drops
packets) still completes the TCP handshake and then says nothing. That is the
worst case for a cache client: every operation waits for its full timeout.
The tarpit reproduces it: it accepts, reads and throws away whatever it is
sent, and never writes a byte.

    python -m harness.tarpit --port 11299       # until Ctrl-C

    with Tarpit() as tarpit:                  # in a test or a fault run
        ... point a client at tarpit.address ...
        tarpit.connections()                  # connections accepted so far

With a target, it is a relay to that server instead, which can fail in two
ways. A path cut off: it starts dropping packets while the server behind it
keeps running, with its data. A hung or SIGSTOPped server can't show that
case: it executes what was queued for it once it runs again; a cut path
loses it. And a host that stops answering, as in a database failover: the
connections open to it end, and new ones get no answer at all (the client
waits for its own connect timeout, it is never refused), until it is back.

    with Tarpit(target=memcached.port) as path:
        ... point a client at path.address ...
        path.cut()                            # swallow everything from now on
        path.heal()                           # new connections get through again

    with Tarpit(target=postgres.port) as host:
        host.stop_answering()                 # close what it relays, hold new connections
        host.heal()                           # close those held, forward new ones again

connections() is exact: it first makes a marker connection of its own and
waits until the tarpit has accepted it. The kernel hands out pending
connections in order, so every connection a client made before the call has
been counted by then. stop_answering() and heal() return once the relay has
closed what they close, so a client's next read sees it.
"""

import argparse
import queue
import selectors
import socket
import threading
import time
from dataclasses import dataclass


@dataclass(eq=False)
class _Pair:
    """One client connection and, while relayed, its connection to the target."""

    client: socket.socket
    server: socket.socket = None
    dead: bool = False  # swallow what it sends: cut, or held by a host that doesn't answer


class Tarpit:
    def __init__(self, port=0, host="127.0.0.1", target=None):
        self.host = host
        self.port = port
        self.target = target  # a port on host to forward to; None: swallow everything
        self._cut = target is None
        self._unanswering = False
        self._listener = None
        self._thread = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._accepted = []  # peer (host, port) of every accepted connection
        self._markers = set()
        # Work for the serving thread, which alone touches the sockets, and
        # the socket pair that wakes it up for it.
        self._calls = queue.SimpleQueue()
        self._wake = None
        self.bytes_received = 0

    @property
    def address(self):
        return f"{self.host}:{self.port}"

    def start(self):
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen(128)
        listener.setblocking(False)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._wake = socket.socketpair()
        for end in self._wake:
            end.setblocking(False)
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, name=f"tarpit:{self.port}", daemon=True)
        self._thread.start()
        return self

    def cut(self):
        """From now on, swallow what every connection sends, old and new."""
        self._cut = True

    def stop_answering(self):
        """The host behind stops answering: the connections relayed so far
        are closed at both ends (the server's own connections end, as in a
        failover), and new ones are accepted and held, never forwarded."""
        self._cut = self._unanswering = True
        self._in_thread(lambda pairs: [pair for pair in pairs if pair.server is not None])

    def heal(self):
        """Forward new connections again. Those that were cut stay dead; those
        held while the host didn't answer are closed (a host back from a
        failover resets what it never heard of), so no client waits past
        the outage for lack of a timeout of its own."""
        self._cut = self.target is None
        if self._unanswering:
            self._unanswering = False
            self._in_thread(lambda pairs: [pair for pair in pairs if pair.server is None])

    def _in_thread(self, choose):
        """Close the pairs choose(open pairs) picks, in the serving thread; return once done."""
        done = threading.Event()
        self._calls.put((choose, done))
        self._wake[1].send(b"!")
        if not done.wait(timeout=10):
            raise TimeoutError("the tarpit's thread did not close its connections")

    def _serve(self):
        selector = selectors.DefaultSelector()
        selector.register(self._listener, selectors.EVENT_READ, "accept")
        selector.register(self._wake[0], selectors.EVENT_READ, "wake")
        pairs = set()
        try:
            while not self._stop.is_set():
                for key, _ in selector.select(timeout=0.05):
                    if key.data == "accept":
                        self._accept(selector, pairs)
                    elif key.data == "wake":
                        self._run_calls(selector, pairs)
                    else:
                        self._relay(selector, key.fileobj, key.data, pairs)
        finally:
            for pair in list(pairs):
                self._drop(selector, pair, pairs)
            selector.close()

    def _run_calls(self, selector, pairs):
        try:
            self._wake[0].recv(4096)
        except BlockingIOError:
            pass
        while True:
            try:
                choose, done = self._calls.get_nowait()
            except queue.Empty:
                return
            for pair in choose(pairs):
                self._drop(selector, pair, pairs)
            done.set()

    def _accept(self, selector, pairs):
        try:
            connection, peer = self._listener.accept()
        except BlockingIOError:
            return
        with self._lock:
            self._accepted.append(peer)
        pair = _Pair(connection, dead=self._cut)
        if not pair.dead:
            try:
                pair.server = socket.create_connection((self.host, self.target), timeout=5)
            except OSError:
                connection.close()
                return
            pair.server.setblocking(False)
            selector.register(pair.server, selectors.EVENT_READ, pair)
        connection.setblocking(False)
        selector.register(connection, selectors.EVENT_READ, pair)
        pairs.add(pair)

    def _drop(self, selector, pair, pairs):
        """Close both ends of a pair, once: both may be ready in the same select()."""
        if pair not in pairs:
            return
        pairs.discard(pair)
        for end in (pair.client, pair.server):
            if end is not None:
                selector.unregister(end)
                end.close()

    def _relay(self, selector, sock, pair, pairs):
        if pair not in pairs:
            return  # its other end gave up in the same select(): closed already
        try:
            data = sock.recv(65536)
        except OSError:
            data = b""
        if not data:  # one side gave up: drop the pair
            self._drop(selector, pair, pairs)
            return
        pair.dead = pair.dead or self._cut
        if sock is pair.client:
            self.bytes_received += len(data)
        if pair.dead:
            return  # swallowed: never forwarded, never answered
        other = pair.server if sock is pair.client else pair.client
        other.setblocking(True)
        try:
            other.sendall(data)
        except OSError:
            pair.dead = True
        finally:
            other.setblocking(False)

    def connections(self, timeout=10.0):
        """How many connections clients have made so far (exact, see above)."""
        marker = socket.create_connection((self.host, self.port), timeout=timeout)
        try:
            peer = marker.getsockname()
            with self._lock:
                self._markers.add(peer)
            deadline = time.monotonic() + timeout
            while True:
                with self._lock:
                    if peer in self._accepted:
                        return sum(1 for p in self._accepted if p not in self._markers)
                if time.monotonic() > deadline:
                    raise TimeoutError("the tarpit did not accept its marker connection")
                time.sleep(0.001)
        finally:
            marker.close()

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        if self._wake is not None:
            for end in self._wake:
                end.close()
            self._wake = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    tarpit = Tarpit(args.port, args.host).start()
    print(f"tarpit listening on {tarpit.address}; never answering", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        tarpit.stop()


if __name__ == "__main__":
    main()
