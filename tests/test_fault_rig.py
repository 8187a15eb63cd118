"""
The fault rig's own pieces, without the app: the relay that stops answering
(harness/tarpit.py), the load's pause (harness/faults/load.py) and the
stale-read check's flagged reads (harness/faults/checks.py). `make faults`
measures the app with them; here they must do exactly what they say.
"""

import socket
import socketserver
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from harness.faults.checks import check_reads
from harness.faults.load import Load, Result, Write
from harness.tarpit import Tarpit


class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while data := self.request.recv(65536):
            self.request.sendall(data)


class Ok(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def serve(server):
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def echo_port():
    with serve(socketserver.ThreadingTCPServer(("127.0.0.1", 0), Echo)) as server:
        yield server.server_address[1]
        server.shutdown()


@pytest.fixture
def http_url():
    with serve(ThreadingHTTPServer(("127.0.0.1", 0), Ok)) as server:
        yield f"http://127.0.0.1:{server.server_address[1]}"
        server.shutdown()


def connect(relay):
    return socket.create_connection((relay.host, relay.port), timeout=5)


def echoed(sock, data):
    sock.sendall(data)
    return sock.recv(len(data)) == data


def closed_unanswered(sock):
    """The first thing the socket gets is its end: not one byte of answer."""
    try:
        return sock.recv(16) == b""
    except ConnectionResetError:  # closed with what it sent still unread
        return True


def test_a_host_that_stops_answering_ends_its_connections_and_holds_new_ones(echo_port):
    with Tarpit(target=echo_port) as relay:
        with connect(relay) as relayed:
            assert echoed(relayed, b"one")
            relay.stop_answering()
            assert closed_unanswered(relayed)  # stop_answering returned once it was closed
        with connect(relay) as held:
            held.sendall(b"two")
            assert relay.connections() == 2
            relay.heal()
            assert closed_unanswered(held)  # held, never forwarded, closed once healed
        with connect(relay) as after:
            assert echoed(after, b"three")
        assert relay.connections() == 3


def test_the_load_pauses_with_no_request_in_flight(http_url):
    with Load(http_url, readers=3, writers=0) as load:
        load.wait_for_requests(20)
        with load.paused():
            paused = time.monotonic()
            resumed = time.monotonic()
        load.wait_for_requests(20, since=resumed)
    # None was in flight when the pause began, none started during it.
    assert not [r for r in load.records if r.finished > paused and r.started < resumed]


def test_a_read_served_stale_and_saying_so_is_flagged_not_stale():
    write = Write("added", add=Result("POST", "/", 302, started=0.0, finished=1.0))

    def read(x_cache, names):
        return Result("GET", "/", 200, 2.0, 2.1, x_cache=x_cache, tasks=dict(enumerate(names)))

    check = check_reads([read("STALE", []), read("MISS", []), read("HIT", ["added"])], [write])
    assert check.checked == 3
    assert [r.x_cache for r, _, _ in check.problems] == ["MISS"]
    assert [r.x_cache for r, _, _ in check.flagged] == ["STALE"]
