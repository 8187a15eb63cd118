"""
memcached 1 ms away: harness/delay_proxy.py in its own process in front of
memcached, calibrated so that it adds the round trip asked for.
"""

import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from harness.services import free_port, wait_for_port

ROOT = Path(__file__).resolve().parent.parent


def round_trip_ms(port, samples=300):
    """Median time of a memcached `version` command: one bare round trip."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        times = []
        for _ in range(samples):
            start = time.perf_counter()
            sock.sendall(b"version\r\n")
            data = b""
            while not data.endswith(b"\r\n"):
                data += sock.recv(256)
            times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


class DelayProxy:
    """harness/delay_proxy.py in its own process (its own GIL) in front of memcached."""

    def __init__(self, target_port, delay_ms):
        self.target_port = target_port
        self.delay_ms = delay_ms
        self.port, self.control_port = free_port(), free_port()
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "harness.delay_proxy",
                "--port",
                str(self.port),
                "--target",
                f"127.0.0.1:{self.target_port}",
                "--delay-ms",
                str(self.delay_ms),
                "--control-port",
                str(self.control_port),
            ],
            cwd=ROOT,
        )
        wait_for_port(self.control_port, process=self.process)
        wait_for_port(self.port, process=self.process)
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def cpu_seconds(self):
        """CPU time the proxy has used so far: on this machine, time the app
        could not use."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    def round_trips(self):
        with socket.create_connection(("127.0.0.1", self.control_port)) as sock:
            return json.loads(sock.makefile().readline())["round_trips"]


def calibrated_proxy(stack, memcached_port, rtt_ms):
    """A delay proxy adding rtt_ms per round trip, as measured, not as asked.

    time.sleep overshoots and the proxy's threads add their own hand-offs, so
    asking for rtt_ms / 2 each way gives a bit more: measure, correct once.
    """
    direct = round_trip_ms(memcached_port)
    delay_ms = rtt_ms / 2
    for attempt in range(2):
        proxy = DelayProxy(memcached_port, delay_ms).start()
        added = round_trip_ms(proxy.port) - direct
        if attempt or abs(added - rtt_ms) < 0.03 * rtt_ms:
            break
        proxy.stop()
        delay_ms = max(0.05, delay_ms - (added - rtt_ms) / 2)
    stack.callback(proxy.stop)
    return proxy, {
        "rtt_asked_ms": rtt_ms,
        "delay_each_way_ms": round(delay_ms, 4),
        "rtt_added_ms": round(added, 4),
        "rtt_loopback_ms": round(direct, 4),
    }
