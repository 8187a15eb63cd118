"""
What the backend's own tests share. They need a memcached server
(MEMCACHIER_SERVERS, see settings.py) and start every other one themselves:
a SASL one, a hung one (a tarpit), one of their own to stop and start.
No database, no app.
"""

import pytest
from django.core.cache import cache

from harness.memcached_meter import memcached_meter  # noqa: F401 (a fixture)
from harness.services import Memcached
from harness.tarpit import Tarpit
from memcachier_cache.log import problems
from memcachier_cache.server import Health


@pytest.fixture(autouse=True)
def empty_cache():
    """Every test starts with an empty memcached (flush_all), every server
    worth trying, and every kind of problem logged at once.

    A test that made memcached unreachable may leave this process skipping
    a server (memcachier_cache/server.py), and one that logged a problem
    would keep the next one of its kind quiet for a minute (log.py).
    """
    Health.forget_all()
    problems.forget()
    cache.clear()
    yield


@pytest.fixture
def tarpit():
    """A hung memcached: accepts connections and never answers."""
    with Tarpit() as pit:
        yield pit


@pytest.fixture
def own_memcached():
    """A memcached of this test's own, to stop and start."""
    server = Memcached().start()
    yield server
    server.stop()


SASL_USER = "memcachier-cache-tests"
SASL_PASSWORD = "sasl-Pw-3b7f20c9-never-in-any-log"


@pytest.fixture(scope="session")
def sasl_memcached():
    """A memcached that requires a SASL login (-S): SASL_USER / SASL_PASSWORD."""
    server = Memcached.requiring_login({SASL_USER: SASL_PASSWORD}).start()
    yield server
    server.remove()
