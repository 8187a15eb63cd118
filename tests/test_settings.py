"""Settings come from the environment, with an embedded default that needs no server."""

import json
import os
import subprocess
import sys

import pytest

SHOW = """
import json, django
from django.conf import settings
django.setup()
from django.core.cache import caches
c = caches["default"]
print(json.dumps({
    "debug": settings.DEBUG,
    "db_engine": settings.DATABASES["default"]["ENGINE"],
    "db_name": str(settings.DATABASES["default"]["NAME"]),
    "conn_max_age": settings.DATABASES["default"]["CONN_MAX_AGE"],
    "health_checks": settings.DATABASES["default"]["CONN_HEALTH_CHECKS"],
    "db_options": settings.DATABASES["default"].get("OPTIONS", {}),
    "cache": type(c).__name__,
    "client": type(c._cache).__name__ if hasattr(c, "server_stats") else None,
    "options": {k: v for k, v in getattr(c, "_options", {}).items() if k != "password"},
    "has_password": bool(getattr(c, "_options", {}).get("password")),
    "log_stream": settings.LOGGING["handlers"]["stdout"]["stream"].name,
}))
"""


# What config/settings.py reads, and what marks a platform (Heroku sets
# DYNO; CI runners, this project's included, set CI), so that the shell a
# test runs in can't change what it checks. PG* are libpq's own settings
# (PGSSLMODE would decide TLS behind dj-database-url's back).
SETTINGS_ENV = (
    "ALLOWED_HOSTS",
    "CACHE_KEY_PREFIX",
    "CACHE_LAYERS",
    "CI",
    "CSRF_TRUSTED_ORIGINS",
    "DATABASE_STATEMENT_TIMEOUT",
    "DATABASE_URL",
    "DEBUG",
    "DYNO",
    "FILE_CACHE_DIR",
    "HTTPS_ONLY",
    "LOG_LEVEL",
    "SECRET_KEY",
    "TRUST_X_FORWARDED_FOR",
)


def clean_env(**overrides):
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_ENV and not k.startswith(("MEMCACHIER_", "PG"))}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    env["SECRET_KEY"] = "test-only-" + "x" * 50
    env.update(overrides)
    return env


def python(code, env):
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)


def show(**env):
    result = python(SHOW, clean_env(**env))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_embedded_default_needs_no_server():
    shown = show()
    assert shown["db_engine"] == "django.db.backends.sqlite3"
    assert shown["db_name"].endswith("db.sqlite3")
    assert shown["cache"] == "TimedFileBasedCache"
    assert shown["debug"] is False
    assert shown["log_stream"] == "<stdout>"


def test_database_url_selects_postgres_with_persistent_checked_connections():
    shown = show(DATABASE_URL="postgres://u:p@db.example:5432/tasks")
    assert shown["db_engine"] == "tasks.postgresql"
    assert shown["db_name"] == "tasks"
    assert shown["conn_max_age"] == 600
    assert shown["health_checks"] is True


def test_every_wait_on_postgres_is_bounded():
    shown = show(DATABASE_URL="postgres://u:p@db.example:5432/tasks")
    assert shown["db_options"] == {
        "connect_timeout": 2,
        "tcp_user_timeout": 5000,
        "options": "-c statement_timeout=5s",
    }
    longer = show(DATABASE_URL="postgres://u:p@db.example:5432/tasks", DATABASE_STATEMENT_TIMEOUT="0")
    assert longer["db_options"]["options"] == "-c statement_timeout=0"


def test_a_statement_timeout_that_is_no_duration_is_refused_at_start():
    env = clean_env(DATABASE_URL="postgres://u:p@db.example:5432/tasks", DATABASE_STATEMENT_TIMEOUT="5s -c role=x")
    result = python(SHOW, env)
    assert result.returncode != 0
    assert "DATABASE_STATEMENT_TIMEOUT must be a PostgreSQL duration" in result.stderr


def test_memcachier_variables_select_sharded_bmemcached_with_sasl():
    shown = show(
        MEMCACHIER_SERVERS="mc1.example:11211, mc2.example:11211",
        MEMCACHIER_USERNAME="user",
        MEMCACHIER_PASSWORD="secret",
    )
    assert shown["cache"] == "MemCachierCache"
    assert shown["client"] == "ShardingClient"
    assert shown["options"]["username"] == "user"
    assert shown["has_password"] is True
    assert shown["options"]["pickle_protocol"] == 5
    assert shown["options"]["socket_timeout"] == 0.25


@pytest.mark.parametrize("bad", ["query,everything", "pages"])
def test_unknown_cache_layers_are_refused(bad):
    result = python("import django; django.setup()", clean_env(CACHE_LAYERS=bad))
    assert result.returncode != 0
    assert "CACHE_LAYERS has unknown layers" in result.stderr


@pytest.mark.parametrize("prefix", ["two words", "x" * 101, "tab\there", "caf\u00e9"])
def test_a_cache_key_prefix_memcached_cant_take_is_refused_at_start(prefix):
    # Every key starts with it: MemCachierCache would raise InvalidCacheKey
    # on every request instead.
    result = python("import django; django.setup()", clean_env(CACHE_KEY_PREFIX=prefix))
    assert result.returncode != 0
    assert "CACHE_KEY_PREFIX must be at most 100 printable ASCII characters" in result.stderr


def test_another_cache_key_prefix_is_used_for_every_key():
    code = "import django; django.setup(); from django.core.cache import cache; print(cache.make_key('k'))"
    result = python(code, clean_env(CACHE_KEY_PREFIX="other-app"))
    assert result.stdout.split() == ["other-app:1:k"]


@pytest.mark.parametrize("debug", ["0", "1"])
def test_each_log_line_goes_to_stdout_once(debug):
    code = "import django, logging; django.setup(); logging.getLogger('django.request').error('boom')"
    result = python(code, clean_env(DEBUG=debug, SECRET_KEY="k" * 50))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["ERROR django.request: boom"]
    assert result.stderr == ""


def test_a_404_is_not_logged_an_error_is():
    code = (
        "import django; django.setup(); from django.test import Client\n"
        "Client(HTTP_HOST='127.0.0.1', HTTP_X_FORWARDED_PROTO='https').get('/no-such-page')\n"
        "import logging; logging.getLogger('django.request').error('a real error')\n"
    )
    result = python(code, clean_env(SECRET_KEY="k" * 50, DATABASE_URL="sqlite:///:memory:"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["ERROR django.request: a real error"]
