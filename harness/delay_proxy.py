"""
A TCP proxy on loopback that holds every byte back for a fixed time each way.

    python -m harness.delay_proxy --port P --target 127.0.0.1:11211 \
        --delay-ms 0.5 --control-port C

memcached on loopback answers in ~50 us; a hosted memcache such as MemCachier
is ~1 ms away from its app servers. With this proxy in between (0.5 ms each
way, 1 ms round trip) the benchmark shows what each round trip to the cache
costs, and how many a request waits for.

One thread, one event loop, one queue of chunks ordered by when they are due,
so a threaded worker's many connections are delayed as much as a sync
worker's few. It runs on the CPU the app runs on, so it must cost little:
it waits with epoll, whose cost does not grow with the connections open
(select's does: the benchmark keeps dozens), and a timerfd wakes it when the
next chunk is due, to the microsecond (epoll's own timeout counts whole
milliseconds, which would turn 0.5 ms into 1). Without timerfd (Python
before 3.13) it falls back to select. (The kernel's netem qdisc would cost
nothing, but this machine's kernel lacks it.)

It also counts those round trips: a client that sends requests waits for
their answer, so each time the server answers after the client sent
something is one round trip. (Quiet writes, which memcached answers only
when they fail, are no round trip: nobody waits for them.) Connecting to the
control port returns the counts as one JSON line.
"""

import argparse
import heapq
import itertools
import json
import os
import selectors
import socket
import time


class Pair:
    """A client connection and its connection to the target."""

    def __init__(self, client, server):
        self.client, self.server = client, server
        self.awaiting_answer = False
        self.open_ends = 2

    def peer(self, sock):
        return self.server if sock is self.client else self.client


class DelayProxy:
    def __init__(self, port, target, delay, control_port):
        self.target = target
        self.delay = delay
        self.counts = {"round_trips": 0, "connections": 0}
        self.timer = Timer() if hasattr(os, "timerfd_create") else None
        self.selector = selectors.EpollSelector() if self.timer else selectors.SelectSelector()
        self.selector.register(listen(port), selectors.EVENT_READ, self.accept)
        self.selector.register(listen(control_port), selectors.EVENT_READ, self.report)
        if self.timer:
            self.selector.register(self.timer.fd, selectors.EVENT_READ, self.timer.expired)
        self.due = []  # (when, tie-breaker, destination, bytes; b"" to close it)
        self.order = itertools.count()

    def run(self):
        while True:
            if self.timer:
                # Left armed when nothing is due: waking once for nothing
                # costs less than a system call to disarm it every time.
                if self.due:
                    self.timer.wake_at(self.due[0][0])
                timeout = None
            else:
                timeout = max(0.0, self.due[0][0] - time.monotonic()) if self.due else None
            for key, _ in self.selector.select(timeout):
                key.data(key.fileobj)
            now = time.monotonic()
            while self.due and self.due[0][0] <= now:
                _, _, destination, data = heapq.heappop(self.due)
                self.send(destination, data)

    def accept(self, listener):
        client, _ = listener.accept()
        server = socket.create_connection(self.target)
        pair = Pair(nodelay(client), nodelay(server))
        self.counts["connections"] += 1
        for end in (client, server):
            self.selector.register(end, selectors.EVENT_READ, lambda sock, pair=pair: self.receive(sock, pair))

    def receive(self, sock, pair):
        try:
            data = sock.recv(65536)
        except OSError:
            data = b""
        if sock is pair.client and data:
            pair.awaiting_answer = True
        elif sock is pair.server and data and pair.awaiting_answer:
            pair.awaiting_answer = False
            self.counts["round_trips"] += 1
        if not data:
            self.selector.unregister(sock)
        heapq.heappush(self.due, (time.monotonic() + self.delay, next(self.order), (pair, pair.peer(sock)), data))

    def send(self, destination, data):
        pair, sock = destination
        try:
            if data:
                sock.sendall(data)
                return
            sock.shutdown(socket.SHUT_WR)  # the other end finished sending
        except OSError:
            pass
        pair.open_ends -= 1
        if pair.open_ends == 0:
            pair.client.close()
            pair.server.close()

    def report(self, listener):
        connection, _ = listener.accept()
        with connection:
            connection.sendall(json.dumps(self.counts).encode() + b"\n")


class Timer:
    """A timerfd on the clock time.monotonic() reads, armed for one moment at a time."""

    def __init__(self):
        self.fd = os.timerfd_create(time.CLOCK_MONOTONIC, flags=os.TFD_NONBLOCK | os.TFD_CLOEXEC)
        self.armed_for = None

    def wake_at(self, moment):
        if moment != self.armed_for:
            # A moment already past fires at once.
            os.timerfd_settime(self.fd, flags=os.TFD_TIMER_ABSTIME, initial=moment)
            self.armed_for = moment

    def expired(self, fd):
        try:
            os.read(fd, 8)
        except BlockingIOError:
            pass  # re-armed since it fired
        self.armed_for = None


def nodelay(sock):
    # Without TCP_NODELAY, Nagle's algorithm would hold small memcached
    # packets back for up to 40 ms: a delay we did not ask for.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def listen(port):
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(128)
    return listener


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--target", required=True, help="host:port")
    parser.add_argument("--delay-ms", type=float, default=0.5, help="each way")
    parser.add_argument("--control-port", type=int, required=True)
    args = parser.parse_args()
    host, port = args.target.rsplit(":", 1)
    DelayProxy(args.port, (host, int(port)), args.delay_ms / 1000, args.control_port).run()


if __name__ == "__main__":
    main()
