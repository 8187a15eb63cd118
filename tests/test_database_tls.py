"""
On a Heroku dyno, the connection to PostgreSQL requires TLS (sslmode=require),
as heroku/python-getting-started does; a local or test database keeps working
without it (config/settings.py). Real servers: one PostgreSQL with TLS, one
without.
"""

import subprocess
import sys
from pathlib import Path

import pytest

from harness.services import Postgres
from tests.test_settings import clean_env

ROOT = Path(__file__).resolve().parent.parent
SHOW_TLS = (
    "import django; django.setup(); from django.db import connection\n"
    "with connection.cursor() as cursor:\n"
    "    cursor.execute('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')\n"
    "    print(cursor.fetchone()[0])\n"
)


@pytest.fixture(scope="module", params=[True, False], ids=["server with TLS", "server without TLS"])
def postgres(request):
    server = Postgres(tls=request.param).start()
    yield server
    server.remove()


def connect(postgres, **env):
    env = clean_env(DATABASE_URL=postgres.url, SECRET_KEY="k" * 50, **env)
    return subprocess.run([sys.executable, "-c", SHOW_TLS], cwd=ROOT, env=env, capture_output=True, text=True)


def test_on_a_dyno_the_connection_requires_tls(postgres):
    result = connect(postgres, DYNO="web.1")
    if postgres.tls:
        assert result.stdout.strip() == "True", result.stderr
    else:
        # Refused rather than sent in the clear.
        assert result.returncode != 0
        assert "server does not support SSL, but SSL was required" in result.stderr


def test_elsewhere_any_database_works_as_it_is(postgres):
    result = connect(postgres)
    assert result.returncode == 0, result.stderr
    # libpq's default (prefer): TLS where the server has it.
    assert result.stdout.strip() == str(postgres.tls)


def test_heroku_ci_is_no_dyno(postgres):
    # Heroku CI sets DYNO too, with CI, and its database has no TLS.
    assert connect(postgres, DYNO="run.1", CI="true").returncode == 0
