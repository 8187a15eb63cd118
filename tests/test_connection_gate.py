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

import pytest
from django.db import OperationalError, connections

from harness.tarpit import Tarpit
from tasks.database_outage import database_known_down, gate
from tasks.postgresql.base import DatabaseWrapper


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
        assert errors == ["Not connecting: the database could not be reached just now"] * 16
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


def test_the_default_database_is_not_known_down_before_any_failure():
    assert not database_known_down()
