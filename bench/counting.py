"""
What a request costs, as the servers count it: SQL statements from
PostgreSQL's pg_stat_statements, keys got and set from memcached's own
`stats`, round trips from the delay proxy (harness/delay.py), and the CPU the
proxy itself used (the app's CPU: they share the machine).
"""

import time
from pathlib import Path

from harness.services import memcached_stats


class Counters:
    """SQL statements, memcached keys and round trips, as the servers count them."""

    def __init__(self, postgres, memcached, proxy):
        import psycopg2

        # Read from the "postgres" database, filtered on "tasks": reading the
        # counts must not add a statement to them.
        self.db = psycopg2.connect(host="127.0.0.1", port=postgres.port, user="postgres", dbname="postgres")
        self.db.autocommit = True
        with self.db.cursor() as cursor:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        self.memcached = memcached
        self.proxy = proxy

    def read(self):
        with self.db.cursor() as cursor:
            cursor.execute(
                "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements s"
                " JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = 'tasks'"
            )
            sql = int(cursor.fetchone()[0])
        stats = memcached_stats(self.memcached.port)
        return {
            "sql": sql,
            # cmd_get counts keys: a get_many of 2 keys is 2 here, 1 round trip.
            "keys_got": int(stats["cmd_get"]),
            "get_hits": int(stats["get_hits"]),
            "keys_set": int(stats["cmd_set"]),
            "evictions": int(stats["evictions"]),
            "round_trips": self.proxy.round_trips(),
            "proxy_cpu_us": self.proxy.cpu_seconds() * 1e6,
        }

    def settle(self, url):
        """Counts once the app at url has served everything it was sent.

        When wrk stops, the requests it had sent are still queued at gunicorn
        and get served (and counted) afterwards. Waiting for the counts to
        stop moving is not enough: at 10,000 tasks without cache one request
        takes longer than any sensible window.
        """
        port = int(url.rsplit(":", 1)[1])
        deadline = time.monotonic() + 300
        while app_busy(port):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the app on port {port} is still busy after 300 s")
            time.sleep(0.05)
        return self.read()


def app_busy(port):
    """Whether a connection to 127.0.0.1:port is queued or being served.

    gunicorn's sync workers close every connection once they have answered
    it, so a server-side socket still open, or one still waiting in the
    listen backlog, is a request not served yet. Read from /proc/net/tcp:
    Linux only, like the rest of this benchmark.
    """
    local = f"0100007F:{port:04X}"
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] != local:
            continue
        state, queued = fields[3], int(fields[4].split(":")[1], 16)
        if state in ("01", "03", "08"):  # ESTABLISHED, SYN_RECV, CLOSE_WAIT
            return True
        if state == "0A" and queued:  # LISTEN: rx_queue is the accept backlog
            return True
    return False


def per_request(before, after, requests, delayed):
    counts = {name: (after[name] - before[name]) / max(requests, 1) for name in before}
    # Round trips are only seen through the proxy; on loopback the code path
    # is the same, but there is nothing in between to count them.
    if not delayed:
        counts["round_trips"] = counts["proxy_cpu_us"] = None
    return counts
