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

With a target, it is a proxy to that server instead, which can be cut off:
a network path that starts dropping packets while the server behind it keeps
running, with its data. A hung or SIGSTOPped server can't show that case:
it executes what was queued for it once it runs again; a cut path loses it.

    with Tarpit(target=memcached.port) as path:
        ... point a client at path.address ...
        path.cut()                            # swallow everything from now on
        path.heal()                           # new connections get through again

connections() is exact: it first makes a marker connection of its own and
waits until the tarpit has accepted it. The kernel hands out pending
connections in order, so every connection a client made before the call has
been counted by then.
"""

import argparse
import selectors
import socket
import threading
import time


class Tarpit:
    def __init__(self, port=0, host="127.0.0.1", target=None):
        self.host = host
        self.port = port
        self.target = target  # a port on host to forward to; None: swallow everything
        self._cut = target is None
        self._listener = None
        self._thread = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._accepted = []  # peer (host, port) of every accepted connection
        self._markers = set()
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
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, name=f"tarpit:{self.port}", daemon=True)
        self._thread.start()
        return self

    def cut(self):
        """From now on, swallow what every connection sends, old and new."""
        self._cut = True

    def heal(self):
        """Forward new connections again (those that were cut stay dead)."""
        self._cut = self.target is None

    def _serve(self):
        selector = selectors.DefaultSelector()
        selector.register(self._listener, selectors.EVENT_READ, None)
        open_connections = set()
        try:
            while not self._stop.is_set():
                for key, _ in selector.select(timeout=0.05):
                    if key.data is None:
                        self._accept(selector, open_connections)
                    else:
                        self._relay(selector, key.fileobj, key.data, open_connections)
        finally:
            for connection in open_connections:
                connection.close()
            selector.close()

    def _accept(self, selector, open_connections):
        try:
            connection, peer = self._listener.accept()
        except BlockingIOError:
            return
        with self._lock:
            self._accepted.append(peer)
        # A pair's state, shared by both its sockets: the peer socket of
        # each, and whether the path was cut while it was open.
        pair = {"client": connection, "server": None, "dead": self._cut}
        if not pair["dead"]:
            try:
                pair["server"] = socket.create_connection((self.host, self.target), timeout=5)
            except OSError:
                connection.close()
                return
            pair["server"].setblocking(False)
            selector.register(pair["server"], selectors.EVENT_READ, pair)
            open_connections.add(pair["server"])
        connection.setblocking(False)
        selector.register(connection, selectors.EVENT_READ, pair)
        open_connections.add(connection)

    def _relay(self, selector, sock, pair, open_connections):
        try:
            data = sock.recv(65536)
        except OSError:
            data = b""
        if not data:  # one side gave up: drop the pair
            for end in (pair["client"], pair["server"]):
                if end is not None and end in open_connections:
                    selector.unregister(end)
                    open_connections.discard(end)
                    end.close()
            return
        pair["dead"] = pair["dead"] or self._cut
        if sock is pair["client"]:
            self.bytes_received += len(data)
        if pair["dead"]:
            return  # swallowed: never forwarded, never answered
        other = pair["server"] if sock is pair["client"] else pair["client"]
        other.setblocking(True)
        try:
            other.sendall(data)
        except OSError:
            pair["dead"] = True
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
