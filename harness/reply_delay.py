"""
A proxy on loopback in front of memcached that holds back its answers to
one binary-protocol command for a while, and passes everything else at once.

A write whose answer comes after the client's timeout: the client gives up
and reports a failure, yet memcached did the write. (harness/delay_proxy.py
delays every byte, for the benchmark; harness/tarpit.py swallows them.)

    with ReplyDelay(memcached_address, opcode=SET, seconds=0.5) as proxy:
        ... point a client at proxy.address ...
        proxy.wait_for_held(1)    # memcached has done one SET; its answer is held back
        proxy.held                # answers held back so far

Each binary-protocol response starts with a 24-byte header: magic 0x81, the
opcode at byte 1, the length of the body after the header at bytes 8-11.
"""

import socket
import struct
import threading
import time

HEADER_SIZE = 24
MAGIC_RESPONSE = 0x81
BODY_LENGTH = struct.Struct("!L")  # at byte 8 of the header


class ReplyDelay:
    def __init__(self, target, opcode, seconds, host="127.0.0.1"):
        target_host, target_port = target.rsplit(":", 1)
        self.target = (target_host, int(target_port))
        self.opcode = opcode
        self.seconds = seconds
        self.host = host
        self.port = None
        self.held = 0
        self._changed = threading.Condition()
        self._listener = None
        self._sockets = set()

    @property
    def address(self):
        return f"{self.host}:{self.port}"

    def start(self):
        self._listener = socket.create_server((self.host, 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, name=f"reply-delay:{self.port}", daemon=True).start()
        return self

    def wait_for_held(self, count, timeout=10.0):
        """Until memcached has answered `count` commands of the opcode."""
        with self._changed:
            if not self._changed.wait_for(lambda: self.held >= count, timeout):
                raise TimeoutError(f"memcached answered {self.held} commands 0x{self.opcode:02x}, not {count}")

    def _accept(self):
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # stopped
            server = socket.create_connection(self.target)
            for end in (client, server):
                # Nagle's algorithm would hold small packets back: a delay not asked for.
                end.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self._sockets.add(end)
            threading.Thread(target=self._requests, args=(client, server), daemon=True).start()
            threading.Thread(target=self._responses, args=(server, client), daemon=True).start()

    def _requests(self, client, server):
        try:
            while data := client.recv(65536):
                server.sendall(data)
        except OSError:
            pass
        finally:
            self._close(client, server)

    def _responses(self, server, client):
        # One response at a time, in order: those behind a held one wait
        # with it, as they would behind a slow answer on the wire.
        reader = server.makefile("rb")
        try:
            while len(header := reader.read(HEADER_SIZE)) == HEADER_SIZE:
                if header[0] != MAGIC_RESPONSE:
                    break  # not the binary protocol: out of step
                response = header + reader.read(BODY_LENGTH.unpack_from(header, 8)[0])
                if header[1] == self.opcode:
                    with self._changed:
                        self.held += 1
                        self._changed.notify_all()
                    time.sleep(self.seconds)  # the scenario: a late answer
                client.sendall(response)
        except OSError:
            pass
        finally:
            reader.close()
            self._close(client, server)

    def _close(self, *ends):
        for end in ends:
            try:
                end.shutdown(socket.SHUT_RDWR)  # wakes the other direction's recv
            except OSError:
                pass
            end.close()
            self._sockets.discard(end)

    def stop(self):
        if self._listener is not None:
            self._close(self._listener)  # shutdown() wakes the blocked accept()
            self._listener = None
        self._close(*list(self._sockets))

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
