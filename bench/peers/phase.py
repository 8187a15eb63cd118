"""
The peers phase of `make bench`: the app's page hit at 100 tasks beside the
guide's Flask app and Django's cache_page, in alternating rounds.

All three serve the same 100 tasks (harness/data.py) from the same PostgreSQL
and the same memcached on loopback, each under gunicorn with 2 workers:

- ours: the app in "page" mode under config/gunicorn.py (gthread), as
  bench/modes.py runs it;
- flask: the guide's app (guide_flask/) with the guide's own command,
  `gunicorn task_list:'create_app()'`, so gunicorn's defaults (sync workers),
  and WEB_CONCURRENCY=2 as Heroku sets it on a small dyno;
- cache_page: the cache_page site (cache_page_site/) under config/gunicorn.py
  too, so that it differs from ours only in the app.

Each round runs wrk once per server and kind of visitor, in an order that
turns from round to round: the shared machine's load drifts, and a fixed
order would favour whoever comes first. A new visitor sends no cookie; a
returning one sends what a first GET set (Django's csrftoken; the Flask app
sets none, so there both kinds are the same request). The report compares
the medians.

Once per run, with real requests on a cold cache: does the next new visitor
get the first one's CSRF token, and no cookie, so that its POST fails? For
cache_page, and for ours.
"""

import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import time
from contextlib import ExitStack
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

from bench.counting import app_busy, per_request
from bench.load import GUNICORN_CONFIG, WORK, WORKERS, start_gunicorn, wrk
from bench.modes import app_env
from harness.data import seed
from harness.services import free_port, memcached_stats, wait_for_port

PEERS = Path(__file__).resolve().parent
ROOT = PEERS.parent.parent
VENV = ROOT / ".venv-peers"
TASKS = 100
KINDS = ("new", "returning")
LABELS = {
    "ours": "this app (full page)",
    "flask": "the guide's Flask app",
    "cache_page": "Django's cache_page",
}
# (peer, kind of visitor) -> the least ratio of our median req/s to the peer's.
TARGETS = {
    ("flask", "new"): 0.8,
    ("flask", "returning"): 1.0,
    ("cache_page", "new"): 1.3,
    ("cache_page", "returning"): 1.3,
}
VERSIONS_OF = ("Flask", "Flask-Caching", "Flask-Session", "Flask-SQLAlchemy", "SQLAlchemy", "pylibmc")
VERSIONS_OF += ("Django", "pymemcache", "gunicorn")
# Per request, as PostgreSQL and memcached count them (bench/counting.py).
COUNTED = ("sql", "keys_got", "keys_set", "memcached_connections")
TOKEN = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


def check_venv():
    """Before anything starts: the peers need .venv-peers, which `make bench` builds."""
    if not (VENV / "bin" / "gunicorn").exists():
        sys.exit(f"{VENV} is missing: run `make bench` (it builds it), or pass --no-peers")


class Peer:
    """A peer site under .venv-peers' gunicorn, started with its own command."""

    def __init__(self, name, command, cwd, env):
        """command and env may say "{port}": the port it listens on."""
        self.port = free_port()
        self.command = [str(VENV / "bin" / "gunicorn"), *(part.format(port=self.port) for part in command)]
        self.cwd = cwd
        # Only what the peer needs: nothing of the app's environment
        # (DJANGO_SETTINGS_MODULE, GUNICORN_CMD_ARGS) leaks into it.
        self.env = {"PATH": os.environ["PATH"], "WEB_CONCURRENCY": str(WORKERS)}
        self.env.update({key: value.format(port=self.port) for key, value in env.items()})
        self.log = WORK / f"gunicorn-peer-{name}.log"
        self.process = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                self.command, cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        wait_for_port(self.port, process=self.process)
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


def start_servers(services, stack):
    """The three servers, started, as {name: (server, its gunicorn log, where this start's lines begin)}."""
    postgres, memcached = services[0], services[1]
    shared = {
        "DATABASE_URL": postgres.url,
        "MEMCACHIER_SERVERS": memcached.address,
        "SECRET_KEY": os.environ["SECRET_KEY"],
    }
    WORK.mkdir(exist_ok=True)
    peers = {
        # The guide's Procfile, less its `flask db upgrade` (the table is the
        # app's, migrated by Django); bound to loopback, where Heroku's PORT
        # would bind every interface.
        "flask": Peer("flask", ["--bind", "127.0.0.1:{port}", "task_list:create_app()"], PEERS / "guide_flask", shared),
        "cache_page": Peer(
            "cache_page",
            ["--config", str(ROOT / "config" / "gunicorn.py"), "cache_page_site.wsgi"],
            PEERS,
            # What harness/services.py's Gunicorn sets for the app, access log off included.
            {
                **shared,
                "DJANGO_SETTINGS_MODULE": "cache_page_site.settings",
                "HOST": "127.0.0.1",
                "PORT": "{port}",
                "GUNICORN_ACCESS_LOG": "0",
            },
        ),
    }
    started = {}
    log = WORK / "gunicorn-peers-ours.log"
    offset = log.stat().st_size if log.exists() else 0
    started["ours"] = (start_gunicorn("peers-ours", app_env(services, "page")), log, offset)
    stack.callback(started["ours"][0].stop)
    for name, peer in peers.items():
        offset = peer.log.stat().st_size if peer.log.exists() else 0
        stack.callback(peer.stop)
        started[name] = (peer.start(), peer.log, offset)
    return started


def worker_class(log, offset):
    """The worker class gunicorn says it uses, from its log."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with open(log, "rb") as file:
            file.seek(offset)
            found = re.search(rb"Using worker: (\S+)", file.read())
        if found:
            return found.group(1).decode()
        time.sleep(0.05)
    return "?"


def request(url, method="GET", cookie="", form=None):
    """One request to / on a fresh connection: (status, {cookie set: value}, body)."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    headers = {"Cookie": f"csrftoken={cookie}"} if cookie else {}
    body = None
    if form is not None:
        body = urlencode(form)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    connection.request(method, "/", body, headers)
    response = connection.getresponse()
    content = response.read()
    connection.close()
    jar = SimpleCookie()
    for header in response.headers.get_all("Set-Cookie") or []:
        jar.load(header)
    return response.status, {name: morsel.value for name, morsel in jar.items()}, content


def csrf_check(url):
    """Two new visitors one after the other, the page not yet cached; then
    each posts the add form with the token and cookie it got, the second
    first. Each visitor's POST that passes adds a task: reseed after."""
    _, first_cookies, first_page = request(url)
    _, second_cookies, second_page = request(url)
    first_token, second_token = (TOKEN.search(page).group(1).decode() for page in (first_page, second_page))
    second_post = request(
        url, "POST", second_cookies.get("csrftoken", ""), {"csrfmiddlewaretoken": second_token, "name": "B"}
    )
    first_post = request(
        url, "POST", first_cookies.get("csrftoken", ""), {"csrfmiddlewaretoken": first_token, "name": "A"}
    )
    return {
        "first_visitor_got_cookie": "csrftoken" in first_cookies,
        "second_visitor_got_cookie": "csrftoken" in second_cookies,
        "second_page_has_first_token": first_token == second_token,
        "second_visitor_post_status": second_post[0],
        "first_visitor_post_status": first_post[0],
    }


def settle(port):
    """Wait until the server has served what the last wrk run left in flight."""
    deadline = time.monotonic() + 60
    while app_busy(port) and time.monotonic() < deadline:
        time.sleep(0.02)


def counts(counters):
    """What the servers have counted so far, and the connections memcached has accepted."""
    found = counters.read()
    found["memcached_connections"] = int(memcached_stats(counters.memcached.port)["total_connections"])
    return found


def wrk_run(server, cookie, counters, args, duration):
    """One wrk run: throughput, latency, and what each request cost the
    servers (the other two servers are idle meanwhile)."""
    before = counts(counters)
    result = wrk(server.url, "/", cookie, "", args, duration)
    settle(server.port)
    per = per_request(before, counts(counters), result["sent"], delayed=False)
    return {
        "rps": result["requests"] / (result["duration_us"] / 1e6),
        "p50_ms": result["p50_us"] / 1000,
        "p99_ms": result["p99_us"] / 1000,
        "bytes_per_response": result["bytes"] / max(result["requests"], 1),
        "errors": sum(result[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts")),
        "non_2xx_3xx": result["status_errors"],
        **{name: per[name] for name in COUNTED},
    }


def rounds(started, cookies, counters, args):
    """args.peer_rounds rounds: one wrk run per server and kind of visitor each."""
    runs, names = [], list(started)
    for n in range(args.peer_rounds):
        order = names[n % len(names) :] + names[: n % len(names)]
        kinds = KINDS if n % 2 == 0 else KINDS[::-1]
        line = []
        for name in order:
            for kind in kinds:
                run = wrk_run(started[name][0], cookies[name][kind], counters, args, args.peer_duration)
                runs.append({"round": n + 1, "server": name, "kind": kind, **run})
                line.append(f"{name} {kind} {run['rps']:,.0f}")
        print(f"peers, round {n + 1}: {', '.join(line)} req/s", flush=True)
    return runs


def summarize(runs, servers):
    """Medians of each server and kind, our ratios to each peer, the targets."""
    for name, server in servers.items():
        for kind in KINDS:
            mine = [run for run in runs if run["server"] == name and run["kind"] == kind]
            server[kind] = {
                "median_rps": statistics.median(run["rps"] for run in mine),
                "min_rps": min(run["rps"] for run in mine),
                "max_rps": max(run["rps"] for run in mine),
                "median_p50_ms": statistics.median(run["p50_ms"] for run in mine),
                "bytes_per_response": statistics.median(run["bytes_per_response"] for run in mine),
                "errors": sum(run["errors"] + run["non_2xx_3xx"] for run in mine),
                **{name: statistics.median(run[name] for run in mine) for name in COUNTED},
            }
    ratios = {
        peer: {kind: servers["ours"][kind]["median_rps"] / servers[peer][kind]["median_rps"] for kind in KINDS}
        for peer in ("flask", "cache_page")
    }
    targets = [
        {"peer": peer, "kind": kind, "ratio": ratios[peer][kind], "target": least, "met": ratios[peer][kind] >= least}
        for (peer, kind), least in TARGETS.items()
    ]
    return ratios, targets


def versions():
    """The peers' packages, as .venv-peers has them."""
    code = f"import importlib.metadata as m, json; print(json.dumps({{n: m.version(n) for n in {VERSIONS_OF!r}}}))"
    out = subprocess.run([str(VENV / "bin" / "python"), "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def run(services, counters, args):
    """The peers phase: results for results.json's "peers"."""
    with ExitStack() as stack:
        seed(TASKS)
        started = start_servers(services, stack)
        servers = {}
        for name, (_, log, offset) in started.items():
            model = worker_class(log, offset)
            threads = GUNICORN_CONFIG.get("threads", 1) if model == "gthread" else 1
            servers[name] = {"label": LABELS[name], "worker_class": model, "threads": threads, "workers": WORKERS}
        # The cache is cold (seed() cleared memcached): the check needs it so.
        csrf = {name: csrf_check(started[name][0].url) for name in ("cache_page", "ours")}
        print(f"peers, CSRF check: {csrf}", flush=True)
        seed(TASKS)  # the checks added tasks, and cache_page never drops a page
        cookies = {}
        for name, (server, _, _) in started.items():
            _, set_cookies, body = request(server.url)
            unexpected = set(set_cookies) - {"csrftoken"}
            if unexpected:
                raise RuntimeError(f"{name} set cookies a returning visitor would send: {sorted(unexpected)}")
            servers[name].update(first_visit_cookies=sorted(set_cookies), body_bytes=len(body))
            cookies[name] = {"new": "", "returning": set_cookies.get("csrftoken", "")}
            for kind in KINDS:  # unmeasured: fills the workers' caches and connections
                wrk_run(server, cookies[name][kind], counters, args, args.warmup)
        runs = rounds(started, cookies, counters, args)
    ratios, targets = summarize(runs, servers)
    return {
        "tasks": TASKS,
        "rounds": args.peer_rounds,
        "duration_s": args.peer_duration,
        "warmup_s": args.warmup,
        "servers": servers,
        "ratios": ratios,
        "targets": targets,
        "csrf_check": csrf,
        "versions": versions(),
        "runs": runs,
    }
