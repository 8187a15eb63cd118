"""The app under gunicorn on servers of its own, to break; and what each memcached server holds."""

import os
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

from harness.faults.load import Visitor
from harness.services import Gunicorn, Memcached, Postgres, memcached_stats
from harness.tarpit import Tarpit

ROOT = Path(__file__).resolve().parent.parent.parent
# The keys that live together on one server (tasks/keys.py's hash tag).
TAGGED = "{tasklist}"


def memcached_keys(port):
    """The keys a memcached server holds (`lru_crawler metadump all`)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"lru_crawler metadump all\r\n")
        data = b""
        while not data.endswith(b"END\r\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    return {
        unquote(line.split(" ", 1)[0][len("key=") :]) for line in data.decode().splitlines() if line.startswith("key=")
    }


def memcached_holds(port, keys):
    """The subset of keys a memcached server holds, asked key by key.

    Not from `lru_crawler metadump`: under load that is no snapshot (items
    that move in the LRU while it walks are skipped), so it can miss keys
    that are there.
    """
    keys = sorted(keys)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        # Meta get with no flags: "HD" if held, "EN" if not, one line each.
        sock.sendall(b"".join(f"mg {key}\r\n".encode() for key in keys))
        data = b""
        while data.count(b"\r\n") < len(keys):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    answers = data.decode().split("\r\n")
    return {key for key, answer in zip(keys, answers, strict=False) if answer == "HD"}


def server_items(servers):
    """{address: (curr_items, get_hits)} from each running server's own stats."""
    counts = {}
    for server in servers:
        if server.process is not None:
            stats = memcached_stats(server.port)
            counts[server.address] = (int(stats["curr_items"]), int(stats["get_hits"]))
    return counts


class Rig:
    """The app under gunicorn on its own memcached server(s) and, unless given one, PostgreSQL.

    memcached=0 runs the embedded default instead: no MEMCACHIER_SERVERS, a
    FileBasedCache in the work folder, shared by the workers. path=True puts
    a path that can be cut (harness/tarpit.py) between the app and the first
    server; database_relay=True a relay between the app and PostgreSQL that
    can stop answering (the same module). Migrations go to it directly.
    """

    def __init__(
        self,
        workdir,
        memcached=1,
        timeout=0.25,
        workers=2,
        database_url=None,
        path=False,
        worker_class=None,
        database_relay=False,
    ):
        self.workdir = Path(workdir)
        self.worker_class = worker_class  # gunicorn's; None: config/gunicorn.py's
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.timeout = timeout
        self.workers = workers
        self.postgres = None if database_url else Postgres()
        self._database_url = database_url
        self.servers = [Memcached() for _ in range(memcached)]
        self.cache = "memcached" if memcached else "file"
        self._wants_path = path
        self.path = None  # a cuttable path to the first server (harness/tarpit.py), if any
        self._wants_database_relay = database_relay
        self.database_relay = None  # a relay to PostgreSQL that can stop answering, if any
        self.app = None
        self.log_path = self.workdir / "gunicorn.log"

    @property
    def memcached(self):
        return self.servers[0]

    @property
    def url(self):
        return self.app.url

    @property
    def database_url(self):
        """The database's own URL, not the relay's."""
        return self._database_url or self.postgres.url

    def _relayed_database_url(self):
        url = urlsplit(self.database_url)
        if url.hostname != self.database_relay.host:
            raise ValueError(f"the relay forwards to {self.database_relay.host} only, not {url.hostname}")
        user = url.netloc.rpartition("@")[0]
        netloc = (user + "@" if user else "") + self.database_relay.address
        return url._replace(netloc=netloc).geturl()

    def env(self):
        env = {
            "DATABASE_URL": self._relayed_database_url() if self.database_relay else self.database_url,
            "MEMCACHIER_SERVERS": "",
            "FILE_CACHE_DIR": str(self.workdir / "file-cache"),
            "MEMCACHIER_TIMEOUT": str(self.timeout),
            "SECRET_KEY": os.environ.get("SECRET_KEY") or "faults-only-" + "x" * 50,
            # Each write of the load comes from an address of its own
            # (harness/faults/load.py): as a router would say, in X-Forwarded-For.
            "TRUST_X_FORWARDED_FOR": "1",
        }
        if self.cache == "memcached":
            addresses = [server.address for server in self.servers]
            if self.path:
                addresses[0] = self.path.address
            env["MEMCACHIER_SERVERS"] = ",".join(addresses)
        return env

    def start(self, seed_tasks=0, memcached_running=True):
        if self.postgres:
            self.postgres.start()
            subprocess.run(
                [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
                cwd=ROOT,
                env={**os.environ, **self.env(), "MEMCACHIER_SERVERS": ""},
                check=True,
            )
        if memcached_running:
            for server in self.servers:
                server.start()
        if self._wants_path:
            self.path = Tarpit(target=self.memcached.port).start()
        if self._wants_database_relay:
            self.database_relay = Tarpit(target=self._database_port()).start()
        self.start_app()
        visitor = Visitor(self.url)
        visitor.get("/")
        for number in range(seed_tasks):
            assert visitor.post("/", {"name": f"seed task {number + 1}"}).status == 302
        return self

    def start_app(self, cache=None):
        self.cache = cache or self.cache
        with open(self.log_path, "ab") as log:
            self.app = Gunicorn(self.env(), workers=self.workers, worker_class=self.worker_class).start(stdout=log)
        return self

    def stop_app(self):
        if self.app:
            self.app.stop()
            self.app = None

    def restart_app(self, cache=None):
        self.stop_app()
        return self.start_app(cache)

    def add_servers(self, count):
        """Start `count` more memcached servers and restart the app on all of them."""
        self.servers += [Memcached().start() for _ in range(count)]
        return self.restart_app("memcached")

    def use_path(self, on=True):
        """Reach the first server through a path that can be cut (or directly again); restarts the app."""
        if self.path:
            self.path.stop()
            self.path = None
        if on:
            self.path = Tarpit(target=self.memcached.port).start()
        return self.restart_app()

    def _database_port(self):
        return urlsplit(self.database_url).port or 5432

    def use_database_relay(self, on=True):
        """Reach PostgreSQL through a relay that can stop answering (or directly again); restarts the app."""
        if self.database_relay:
            self.database_relay.stop()
            self.database_relay = None
        if on:
            self.database_relay = Tarpit(target=self._database_port()).start()
        return self.restart_app()

    def stop(self):
        self.stop_app()
        if self.path:
            self.path.stop()
        if self.database_relay:
            self.database_relay.stop()
        for server in self.servers:
            server.stop()
        if self.postgres:
            self.postgres.remove()

    def log_tail(self, lines=30):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def hang(server):
    """Replace a memcached server by a tarpit on its port; returns the tarpit."""
    server.stop()
    return Tarpit(port=server.port).start()


def unhang(server, tarpit):
    tarpit.stop()
    server.start()
