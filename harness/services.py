"""
Real PostgreSQL and memcached servers on free loopback ports, for the tests
and the benchmarks.

    python -m harness.services packages [--memcached-only|--peers] # install what's missing (root)
    python -m harness.services run [--memcached-only] -- CMD ...   # CMD with the servers' env set

`run` starts one PostgreSQL and one memcached, sets DATABASE_URL and
MEMCACHIER_SERVERS for CMD, and stops both afterwards, whatever happens.
With --memcached-only it starts memcached alone and sets no DATABASE_URL:
for the backend's own tests (memcachier_cache/tests/), which need nothing
else (the packages for memcached and its SASL logins, likewise).
`packages --peers` installs only what building the benchmark's peers
needs (bench/peers/, the Makefile's .venv-peers rule); `make test` never asks
for it.
The classes are used directly by tests that stop, hang or add servers.
"""

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

# command -> Debian package that provides it
PACKAGES = {
    "memcached": "memcached",
    "initdb": "postgresql",
    "saslpasswd2": "sasl2-bin",
    "chromium": "chromium",
    "wrk": "wrk",
    "ss": "iproute2",
}
# What the backend's own tests need: memcached, and SASL logins to it.
MEMCACHED_PACKAGES = {command: PACKAGES[command] for command in ("memcached", "saslpasswd2")}
# What the benchmark's peers need to build (bench/peers/requirements.txt):
# pylibmc, the guide's memcached client, has only an sdist, compiled against
# libmemcached (which brings SASL's headers) and zlib. Headers are files, not
# commands: a path here means "this file exists".
PEER_PACKAGES = {
    "gcc": "build-essential",
    "/usr/include/libmemcached/memcached.h": "libmemcached-dev",
    "/usr/include/zlib.h": "zlib1g-dev",
    # Debian's python3-dev only helps Debian's Python; pyenv's has its own.
    str(Path(sysconfig.get_paths()["include"]) / "Python.h"): "python3-dev",
}


def is_root():
    return os.geteuid() == 0


def find_program(name):
    found = shutil.which(name)
    if found:
        return found
    # Debian keeps the PostgreSQL server programs off the PATH.
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def is_present(command_or_path):
    if command_or_path.startswith("/"):
        return Path(command_or_path).exists()
    return find_program(command_or_path) is not None


def ensure_packages(packages=PACKAGES):
    missing = sorted({pkg for what, pkg in packages.items() if not is_present(what)})
    if not missing:
        return
    if not is_root() or not shutil.which("apt-get"):
        sys.exit(
            "Missing programs. Install these Debian packages, then run again:\n"
            f"    sudo apt-get install {' '.join(missing)}"
        )
    print(f"Installing Debian packages: {' '.join(missing)}", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port, timeout=20.0, process=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout} s")


def write_sasl_conf(users):
    """A new folder for memcached -S (SASL_CONF_PATH): PLAIN logins for `users`.

    memcached reads memcached.conf there, and checks each login against the
    sasldb it names. It reads the sasldb at every login, after dropping root
    for `nobody`, so the folder and the file must be readable by that user.
    """
    folder = Path(tempfile.mkdtemp(prefix="tasklist-sasl-"))
    folder.chmod(0o755)
    sasldb = folder / "sasldb"
    for user, password in users.items():
        subprocess.run(
            [find_program("saslpasswd2"), "-a", "memcached", "-c", "-p", "-f", str(sasldb), user],
            input=password.encode(),
            check=True,
        )
    if is_root():
        shutil.chown(sasldb, "nobody")
    (folder / "memcached.conf").write_text(f"mech_list: plain\nsasldb_path: {sasldb}\n")
    return folder


def memcached_stats(port):
    """memcached's `stats` (text protocol; this memcached has no SASL)."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"stats\r\n")
        data = b""
        while not data.endswith(b"END\r\n"):
            data += sock.recv(65536)
    lines = (line.split(" ", 2) for line in data.decode().splitlines() if line.startswith("STAT "))
    return {name: value for _, name, value in lines}


class Memcached:
    """One memcached process; stop(), kill() and start() again at will.

    With sasl_conf_dir (see write_sasl_conf), it requires a SASL login.
    """

    def __init__(self, port=None, memory_mb=64, sasl_conf_dir=None):
        self.port = port or free_port()
        self.memory_mb = memory_mb
        self.sasl_conf_dir = sasl_conf_dir
        self.process = None

    @classmethod
    def requiring_login(cls, users):
        """A memcached that requires a SASL login of one of users ({name: password})."""
        return cls(sasl_conf_dir=write_sasl_conf(users))

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def start(self):
        command = [find_program("memcached"), "-l", "127.0.0.1", "-p", str(self.port)]
        command += ["-U", "0", "-m", str(self.memory_mb), "-t", "2"]
        if is_root():
            command += ["-u", "nobody"]
        env = dict(os.environ)
        if self.sasl_conf_dir:
            command.append("-S")
            env["SASL_CONF_PATH"] = str(self.sasl_conf_dir)
        self.process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
        wait_for_port(self.port, process=self.process)
        return self

    def stop(self, sig=signal.SIGTERM):
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=10)
        self.process = None

    def kill(self):
        self.stop(signal.SIGKILL)

    def remove(self):
        """Stop, and delete the SASL folder if it has one."""
        self.stop()
        if self.sasl_conf_dir:
            shutil.rmtree(self.sasl_conf_dir, ignore_errors=True)


class Postgres:
    """A throwaway PostgreSQL cluster; fsync is off: test data only.

    tls=True serves TLS too, with a self-signed certificate, as Heroku
    Postgres does (its clients require TLS but don't verify the certificate).
    """

    def __init__(self, port=None, tls=False):
        self.port = port or free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="tasklist-pg-"))
        self.data = self.dir / "data"
        self.tls = tls
        self.started = False

    @property
    def url(self):
        return f"postgres://postgres@127.0.0.1:{self.port}/tasks"

    def _run(self, *command):
        # PostgreSQL refuses to run as root: run it as the postgres user.
        prefix = ["runuser", "-u", "postgres", "--"] if is_root() else []
        subprocess.run([*prefix, *command], check=True, stdout=subprocess.DEVNULL)

    def start(self):
        if is_root():
            shutil.chown(self.dir, "postgres")
        if not self.data.exists():
            self._run(
                find_program("initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            )
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200 "
            "-c shared_preload_libraries=pg_stat_statements"
        )
        if self.tls:
            options += f" -c ssl=on -c ssl_cert_file={self._certificate()} -c ssl_key_file={self.dir / 'server.key'}"
        self._run(
            find_program("pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.dir / "log"),
            "-w",
            "start",
        )
        self.started = True
        self._create_database()
        return self

    def _certificate(self):
        certificate, key = self.dir / "server.crt", self.dir / "server.key"
        if not certificate.exists():
            subprocess.run(
                ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                 "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(certificate)],
                check=True, capture_output=True,
            )  # fmt: skip
            key.chmod(0o600)  # PostgreSQL refuses a key others can read
            if is_root():
                shutil.chown(key, "postgres")
                shutil.chown(certificate, "postgres")
        return certificate

    def _create_database(self):
        import psycopg2

        connection = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres")
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = 'tasks'")
            if not cursor.fetchone():
                cursor.execute("CREATE DATABASE tasks")
        connection.close()

    def stop(self, mode="fast"):
        if self.started:
            self._run(find_program("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")
            self.started = False

    def restart(self):
        self.stop()
        return self.start()

    def remove(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class Gunicorn:
    """The app under gunicorn, started exactly as the Procfile starts it."""

    def __init__(self, env, port=None, workers=2, app="config.wsgi", root=None, worker_class=None):
        """worker_class: gunicorn's worker model instead of config/gunicorn.py's."""
        self.port = port or free_port()
        self.app = app
        self.root = root or Path(__file__).resolve().parent.parent  # the project to run
        self.env = {
            **os.environ,
            **env,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "WEB_CONCURRENCY": str(workers),
            # Plain HTTP on loopback; production keeps HTTPS_ONLY on.
            "HTTPS_ONLY": "0",
            "GUNICORN_ACCESS_LOG": "0",
        }
        if worker_class:
            # gunicorn quietly runs gthread for "sync" when threads > 1, as
            # config/gunicorn.py sets: a sync worker needs --threads 1 too.
            args = f"--worker-class={worker_class}"
            if worker_class == "sync":
                args += " --threads=1"
            self.env["GUNICORN_CMD_ARGS"] = args
        self.process = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, stdout=subprocess.DEVNULL):
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        self.process = subprocess.Popen(
            [gunicorn, "--config", "config/gunicorn.py", self.app],
            cwd=self.root,
            env=self.env,
            stdout=stdout,
            stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port, process=self.process)
        return self

    def worker_pids(self):
        pid = self.process.pid
        return {int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}

    def restart_workers(self, timeout=20.0):
        """Replace every worker by a fresh fork of the preloaded app (SIGHUP).

        Returns once all the old workers are gone, so nothing they kept in
        memory answers another request: Django caches content types per
        process, and a test database flush gives them new ids.
        """
        old = self.worker_pids()
        self.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + timeout
        while True:
            workers = self.worker_pids()
            if len(workers) == int(self.env["WEB_CONCURRENCY"]) and not workers & old:
                return self
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not replace its workers {sorted(old)}")
            time.sleep(0.02)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        self.process = None


class Runserver:
    """The app under Django's runserver, as `make run` starts it (threaded, no reloader)."""

    def __init__(self, env, port=None):
        self.port = port or free_port()
        self.env = {**os.environ, **env}
        self.process = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{self.port}"],
            cwd=Path(__file__).resolve().parent.parent,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, process=self.process)
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        self.process = None


@contextmanager
def running_services(postgres=True):
    """(Postgres, Memcached), started; both stopped and removed on exit.
    postgres=False: (None, Memcached)."""
    with ExitStack() as stack:
        database = None
        if postgres:
            database = Postgres()
            stack.callback(database.remove)
            database.start()
        memcached = Memcached()
        stack.callback(memcached.stop)
        memcached.start()
        yield database, memcached


def service_env(postgres, memcached):
    env = {
        "MEMCACHIER_SERVERS": memcached.address,
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "test-only-" + "x" * 50,
    }
    if postgres is not None:
        env["DATABASE_URL"] = postgres.url
    return env


def main(argv):
    options = argv[1 : argv.index("--")] if "--" in argv else argv[1:]
    if not set(options) <= {"--memcached-only", "--peers"}:
        sys.exit(__doc__)
    memcached_only = "--memcached-only" in options
    if argv[:1] == ["packages"]:
        if "--peers" in options:
            ensure_packages(PEER_PACKAGES)
        else:
            ensure_packages(MEMCACHED_PACKAGES if memcached_only else PACKAGES)
        return 0
    if argv[:1] == ["run"] and "--" in argv:
        command = argv[argv.index("--") + 1 :]
        with running_services(postgres=not memcached_only) as (postgres, memcached):
            env = {**os.environ, **service_env(postgres, memcached)}
            if postgres is None:
                env.pop("DATABASE_URL", None)  # nothing but memcached
                print(f"memcached on {memcached.port}", flush=True)
            else:
                print(f"PostgreSQL on {postgres.port}, memcached on {memcached.port}", flush=True)
            return subprocess.run(command, env=env).returncode
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
