"""The fault runs' load: a timed HTTP visitor, and reader and writer threads recording every request."""

import http.client
import itertools
import re
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

from harness.visitor import TOKEN as CSRF_TOKEN
from harness.visitor import Visitor as Browser

# One row of the list: the name (HTML-escaped) and its Delete button's URL.
TASK_ROW = re.compile(r'<span class="task-name">([^<]*)</span><button formaction="/(\d+)/delete"')
# The stale-read phases' load: more writers, no pause.
STALE_LOAD = {"readers": 8, "writers": 4, "write_pause": 0.05}
# Numbers the client address of each write (see Visitor.post).
_writes = itertools.count(1)


def client_address():
    """An address of its own for each write, 10.0.0.1 onwards: the load
    stands for many visitors, and the app limits what one address may
    write (tasks/throttle.py; the rig's app trusts X-Forwarded-For)."""
    number = next(_writes)
    return f"10.{number >> 16 & 255}.{number >> 8 & 255}.{number & 255}"


@dataclass
class Result:
    method: str
    path: str
    status: int  # 0: no HTTP answer (connection refused, reset, timeout)
    started: float  # time.monotonic()
    finished: float
    x_cache: str = ""
    error: str = ""
    tasks: dict = None  # id -> name, for pages of the list

    @property
    def latency(self):
        return self.finished - self.started

    @property
    def names(self):
        return set(self.tasks.values()) if self.tasks is not None else None


def parse_tasks(page):
    """{id: name} of the rows on a list page (names as shown: HTML-escaped)."""
    return {int(task_id): name for name, task_id in TASK_ROW.findall(page)}


class Visitor:
    """One browser under load: harness/visitor.py's cookie jar and HTTP, plus
    the timing of each request, the CSRF token of the last page seen and the
    tasks a list page showed."""

    def __init__(self, base_url, timeout=10.0):
        self.browser = Browser(base_url, timeout=timeout)
        self.token = None

    def request(self, method, path, fields=None, headers=()):
        started = time.monotonic()
        try:
            response = self.browser.request(method, path, fields, headers)
        except (OSError, http.client.HTTPException) as error:
            return Result(method, path, 0, started, time.monotonic(), error=repr(error))
        result = Result(
            method, path, response.status, started, time.monotonic(), x_cache=response.headers.get("X-Cache", "")
        )
        token = CSRF_TOKEN.search(response.text)
        if token:
            self.token = token.group(1)
        if method == "GET" and response.status == 200 and path == "/":
            result.tasks = parse_tasks(response.text)
        return result

    def get(self, path="/"):
        return self.request("GET", path)

    def post(self, path, fields=None):
        """POST a form with the CSRF token of the last page this visitor
        got, from an address of its own (client_address)."""
        fields = {**(fields or {}), "csrfmiddlewaretoken": self.token or ""}
        return self.request("POST", path, fields, {"X-Forwarded-For": client_address()})


@dataclass
class Write:
    """One task's life: added, then deleted, as a writer saw it."""

    name: str
    add: Result = None
    delete: Result = None
    uncertain: bool = False  # a write got no clear answer: it may or may not have happened


class Load:
    """Reader and writer threads against one app URL, recording every request.

    Every writer keeps its last `keep` tasks: each round it adds one, reads
    the page and deletes the older ones it finds there. paused() holds every
    thread back for a moment, with no request in flight.
    """

    def __init__(self, url, readers=4, writers=2, write_pause=0.2, keep=2, prefix="load"):
        self.url = url
        self.readers = readers
        self.writers = writers
        self.write_pause = write_pause
        self.keep = keep
        self.prefix = prefix
        self.records = []  # every Result; list.append is atomic
        self.writes = []
        self._stop = threading.Event()
        self._threads = []
        self._gate = threading.Condition()
        self._paused = False
        self._in_flight = 0

    def start(self):
        for number in range(self.readers):
            self._spawn(self._read, number)
        for number in range(self.writers):
            self._spawn(self._write, number)
        return self

    def _spawn(self, target, number):
        thread = threading.Thread(target=target, args=(number,), name=f"{target.__name__}-{number}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _record(self, request, *args):
        """request(*args) once the load isn't paused, recorded."""
        with self._gate:
            # Counted in flight under the same lock paused() checks: no
            # request slips in between its check and its wait.
            self._gate.wait_for(lambda: not self._paused or self._stop.is_set())
            self._in_flight += 1
        try:
            result = request(*args)
            self.records.append(result)
            return result
        finally:
            with self._gate:
                self._in_flight -= 1
                self._gate.notify_all()

    @contextmanager
    def paused(self, timeout=30.0):
        """No request in flight and none sent until the block ends: what
        the block does (a write, then a fault) nothing of the load sees
        half-done."""
        with self._gate:
            self._paused = True
            if not self._gate.wait_for(lambda: self._in_flight == 0, timeout):
                self._paused = False
                self._gate.notify_all()
                raise TimeoutError(f"load: requests still in flight after {timeout} s")
        try:
            yield
        finally:
            with self._gate:
                self._paused = False
                self._gate.notify_all()

    def _read(self, number):
        visitor = Visitor(self.url)
        while not self._stop.is_set():
            self._record(visitor.get, "/")

    def _write(self, number):
        visitor = Visitor(self.url)
        self._record(visitor.get, "/")  # a CSRF token
        live = []  # my tasks not deleted yet, oldest first
        round_number = 0
        while not self._stop.is_set():
            round_number += 1
            write = Write(f"{self.prefix}-w{number}-{round_number}")
            self.writes.append(write)
            write.add = self._record(visitor.post, "/", {"name": write.name})
            write.uncertain = write.add.status != 302
            live.append(write)
            page = self._record(visitor.get, "/")
            if page.tasks is not None:
                ids = {name: task_id for task_id, name in page.tasks.items()}
                for old in live[: -self.keep]:
                    if old.name in ids:
                        old.delete = self._record(visitor.post, f"/{ids[old.name]}/delete")
                        old.uncertain = old.uncertain or old.delete.status != 302
                        live.remove(old)
                    elif old.uncertain:
                        live.remove(old)  # probably never added: stop looking for it
            if self.write_pause:
                self._stop.wait(self.write_pause)

    def stop(self):
        self._stop.set()
        with self._gate:
            self._gate.notify_all()  # paused threads see the stop
        for thread in self._threads:
            thread.join(timeout=30)
        return self

    def since(self, moment):
        """The requests that started at or after `moment` (time.monotonic())."""
        return [r for r in list(self.records) if r.started >= moment]

    def wait_until(self, condition, timeout=60.0, what="condition"):
        """Poll condition() while the load runs; TimeoutError after timeout."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"load: no {what} after {timeout} s")
            time.sleep(0.02)

    def wait_for_requests(self, count, since=0.0, timeout=60.0):
        """Until `count` requests that started at or after `since` have finished."""
        self.wait_until(lambda: len(self.since(since)) >= count, timeout, f"{count} requests")

    def wait_for_hit(self, since, timeout=60.0, count=1):
        """Until `count` page hits (X-Cache: HIT) that started at or after `since`."""

        def hits():
            return sum(1 for r in self.since(since) if r.x_cache == "HIT")

        self.wait_until(lambda: hits() >= count, timeout, f"{count} page hits")

    def wait_for_writes(self, count, since=0.0, timeout=60.0):
        """Until `count` tasks added at or after `since` were acknowledged."""

        def acknowledged():
            return sum(1 for w in list(self.writes) if w.add and w.add.status == 302 and w.add.started >= since)

        self.wait_until(lambda: acknowledged() >= count, timeout, f"{count} acknowledged writes")

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class Burst:
    """`count` writes sent at once, each by a visitor of its own from an
    address of its own, and a read `read_after` s after them: whether a
    crowd of requests for a database that doesn't answer holds up the ones
    behind it.

    prepare() gets every visitor its CSRF token, before anything breaks;
    start() sends the writes and, `read_after` s later, reads, in threads of
    its own (an app that hangs must not hold up what the caller does next,
    such as ending the outage); join() waits for all of it.
    """

    def __init__(self, url, count=40, read_after=3.0, prefix="burst"):
        self.count = count
        self.read_after = read_after
        self.prefix = prefix
        self.visitors = [Visitor(url) for _ in range(count + 1)]  # the last one reads
        self.writes = [None] * count  # Result of each write, in order
        self.read = None
        self._threads = []

    def prepare(self):
        for visitor in self.visitors:
            visitor.get("/")
        return self

    def start(self):
        go = threading.Barrier(self.count + 1)

        def write(number):
            go.wait()
            self.writes[number] = self.visitors[number].post("/", {"name": f"{self.prefix}-{number + 1}"})

        def read():
            go.wait()
            time.sleep(self.read_after)
            self.read = self.visitors[-1].get("/")

        for number in range(self.count):
            self._spawn(write, number)
        self._spawn(read)
        return self

    def _spawn(self, target, *args):
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self._threads.append(thread)

    def join(self, timeout=30.0):
        for thread in self._threads:
            thread.join(timeout)
        return self


def first_hit(records):
    return min((r.started for r in records if r.x_cache == "HIT"), default=None)
