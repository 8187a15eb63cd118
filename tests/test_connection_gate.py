"""
After a failed connection, a process makes no new connection for requests
until its one probe gets one (tasks/database_outage.py's ConnectionGate,
through tasks/postgresql/): a database host that doesn't answer costs one
connect timeout per probe, not one per request. Against a real PostgreSQL,
a port nobody listens on, and a host that accepts and never answers
(harness/tarpit.py).
"""

import socket
import threading
import time

import pytest
from django.db import OperationalError, connections

from harness.tarpit import Tarpit
from tasks.database_outage import database_known_down, gate
from tasks.postgresql.base import NOT_CONNECTING, DatabaseWrapper


def wrapper_to(port, alias):
    """A connection to the test database, on another port, gated as `alias`."""
    settings = {**connections["default"].settings_dict, "HOST": "127.0.0.1", "PORT": str(port)}
    return DatabaseWrapper(settings, alias=alias)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def connect_in_threads(port, alias, count):
    """What `count` threads connecting at once got: an error message each."""
    errors = []

    def connect():
        try:
            wrapper_to(port, alias).ensure_connection()
        except OperationalError as error:
            errors.append(str(error))

    threads = [threading.Thread(target=connect) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.mark.django_db
def test_after_a_host_did_not_answer_requests_make_no_connection():
    alias = "hung-host"
    gate(alias).PROBE_EVERY_SECONDS = 3600  # no probe within this test
    with Tarpit() as hung:
        with pytest.raises(OperationalError, match="timeout expired"):
            wrapper_to(hung.port, alias).ensure_connection()
        assert database_known_down(alias)
        errors = connect_in_threads(hung.port, alias, 16)
        assert errors == [NOT_CONNECTING] * 16
        assert hung.connections() == 1


@pytest.mark.django_db
def test_the_probe_connects_again_once_the_database_answers():
    alias = "restarted"
    gate(alias).PROBE_EVERY_SECONDS = 0.05
    port = free_port()
    with pytest.raises(OperationalError, match="refused"):
        wrapper_to(port, alias).ensure_connection()
    assert database_known_down(alias)
    # The database comes back on that port.
    database_port = int(connections["default"].settings_dict["PORT"] or 5432)
    with Tarpit(port=port, target=database_port):
        assert gate(alias).wait_up(timeout=10)
        assert not database_known_down(alias)
        back = wrapper_to(port, alias)
        with back.cursor() as cursor:
            cursor.execute("SELECT 1")
            assert cursor.fetchone() == (1,)
        back.close()


@pytest.mark.django_db
def test_after_connections_broke_one_probe_reconnects_and_requests_fail_at_once():
    alias = "failed-over"
    gate(alias).PROBE_EVERY_SECONDS = 3600  # no probe within this test
    database_port = int(connections["default"].settings_dict["PORT"] or 5432)
    with Tarpit(target=database_port) as relay:
        connected, failed_over = threading.Barrier(17), threading.Barrier(17)
        errors = []

        def worker():
            # A connection belongs to the thread that made it, as in gunicorn's gthread.
            database = wrapper_to(relay.port, alias)
            database.ensure_connection()
            connected.wait()
            failed_over.wait()
            database.health_check_done = False  # as at the start of its next request
            try:
                database.cursor()
            except OperationalError as error:
                errors.append(str(error))

        threads = [threading.Thread(target=worker) for _ in range(16)]
        for thread in threads:
            thread.start()
        connected.wait()
        relay.stop_answering()  # a failover: the connections end, the host is silent
        failed_over.wait()
        for thread in threads:
            thread.join()
        # Each waited for the probe's first try a moment (WAIT_FOR_CHECK_SECONDS), not its 2 s.
        assert errors == [NOT_CONNECTING] * 16
        # The probe's try times out (2 s) and the next is an hour away.
        deadline = time.monotonic() + 10
        while gate(alias).checking:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert relay.connections() == 16 + 1


def test_the_default_database_is_not_known_down_before_any_failure():
    assert not database_known_down()
