"""
A TCP proxy on loopback that holds every byte back for a fixed time each way.

    python -m bench.delay_proxy --port P --target 127.0.0.1:11211 \
        --delay-ms 0.5 --control-port C

memcached on loopback answers in ~50 us; a hosted memcache such as MemCachier
is ~1 ms away from its app servers. With this proxy in between (0.5 ms each
way, 1 ms round trip) the benchmark shows what each round trip to the cache
costs, and how many a request waits for.

It also counts those round trips: a memcached client like bmemcached sends a
request and waits for the whole answer before sending the next one, so each
time a client starts sending after it received something is one round trip.
Connecting to the control port returns the counts as one JSON line.
"""

import argparse
import json
import queue
import socket
import threading
import time

counts_lock = threading.Lock()
counts = {"round_trips": 0, "connections": 0}


def count(name):
    with counts_lock:
        counts[name] += 1


def connect_nodelay(sock):
    # Without TCP_NODELAY, Nagle's algorithm would hold small memcached
    # packets back for up to 40 ms: a delay we did not ask for.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def pump(src, dst, delay, on_chunk):
    """Copy src to dst, each chunk sent `delay` seconds after it arrived.

    A reader thread timestamps chunks as they come and this thread sends
    them when due: a big answer that arrives in many chunks is delayed once,
    not once per chunk.
    """
    pending = queue.SimpleQueue()

    def receive():
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if data:
                on_chunk()
            pending.put((time.perf_counter() + delay, data))
            if not data:
                return

    threading.Thread(target=receive, daemon=True).start()
    while True:
        due, data = pending.get()
        if not data:
            break
        pause = due - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        try:
            dst.sendall(data)
        except OSError:
            break
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def serve_client(client, target, delay):
    count("connections")
    server = connect_nodelay(socket.create_connection(target))
    connect_nodelay(client)
    awaiting_answer = [False]

    def request_chunk():
        if not awaiting_answer[0]:
            awaiting_answer[0] = True
            count("round_trips")

    def answer_chunk():
        awaiting_answer[0] = False

    upstream = threading.Thread(target=pump, args=(client, server, delay, request_chunk), daemon=True)
    upstream.start()
    pump(server, client, delay, answer_chunk)
    upstream.join()
    client.close()
    server.close()


def serve_counts(listener):
    while True:
        connection, _ = listener.accept()
        with connection, counts_lock:
            connection.sendall(json.dumps(counts).encode() + b"\n")


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
    target = (host, int(port))
    listener = listen(args.port)
    threading.Thread(target=serve_counts, args=(listen(args.control_port),), daemon=True).start()
    while True:
        client, _ = listener.accept()
        threading.Thread(target=serve_client, args=(client, target, args.delay_ms / 1000), daemon=True).start()


if __name__ == "__main__":
    main()
