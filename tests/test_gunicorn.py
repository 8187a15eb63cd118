import http.client
import re
import runpy
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.contrib.staticfiles.storage import staticfiles_storage

from harness.services import Gunicorn
from harness.visitor import Visitor
from tests.conftest import database_url, stopped_log


@pytest.mark.django_db(transaction=True)
def test_gunicorn_serves_the_page_and_the_admin_css(app_server):
    with urllib.request.urlopen(app_server.url + "/") as response:
        assert response.status == 200
        assert b"Current tasks" in response.read()
    # Only hashed names are kept (WHITENOISE_KEEP_ONLY_HASHED_FILES): as a
    # page links them.
    hashed = staticfiles_storage.url("admin/css/base.css")
    assert re.fullmatch(r"/static/admin/css/base\.[0-9a-f]{12}\.css", hashed)
    with urllib.request.urlopen(app_server.url + hashed) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/css")
    with pytest.raises(urllib.error.HTTPError) as unhashed:
        urllib.request.urlopen(app_server.url + "/static/admin/css/base.css")
    assert unhashed.value.code == 404


@pytest.mark.django_db(transaction=True)
def test_gunicorn_runs_with_debug_off(app_server):
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(app_server.url + "/no-such-page")
    assert error.value.code == 404
    assert b"Traceback" not in error.value.read()
    assert b"DEBUG = True" not in error.value.read()


GUNICORN_PATH = str(Path(__file__).resolve().parent.parent / "config" / "gunicorn.py")
GUNICORN_CONFIG = runpy.run_path(GUNICORN_PATH)


def test_the_web_process_fits_herokus_router_and_dyno():
    # Idle connections are closed by the router (90 s), never by gunicorn
    # first; a restart finishes within the dyno's 30 s shutdown.
    assert GUNICORN_CONFIG["keepalive"] > 90
    assert GUNICORN_CONFIG["graceful_timeout"] < 30
    assert GUNICORN_CONFIG["worker_class"] == "gthread" and GUNICORN_CONFIG["threads"] > 1
    assert GUNICORN_CONFIG["preload_app"] is True
    # Forwarded headers are trusted (Heroku's router), but never SCRIPT_NAME
    # or PATH_INFO (test_cache_poisoning.py shows the shared page unmoved).
    assert GUNICORN_CONFIG["forwarded_allow_ips"] == "*"
    assert GUNICORN_CONFIG["forwarder_headers"] == ""


def test_the_web_process_listens_on_ipv6_which_takes_ipv4_too(monkeypatch):
    # A web dyno on Fir must listen on [::]:$PORT (docs/deploying.md); on
    # Cedar, IPv4 reaches the same socket.
    monkeypatch.delenv("HOST", raising=False)
    monkeypatch.setenv("PORT", "5000")
    assert runpy.run_path(GUNICORN_PATH)["bind"] == "[::]:5000"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("asked, runs", [(None, "gthread"), ("gthread", "gthread"), ("sync", "sync")])
def test_the_worker_model_asked_for_is_the_one_that_runs(tmp_path, asked, runs):
    # With threads > 1 gunicorn runs gthread even when told sync: the
    # benchmark's and the fault tests' sync runs must really be sync.
    server = Gunicorn({"DATABASE_URL": database_url()}, workers=1, worker_class=asked)
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "wb") as log:
        server.start(stdout=log)
    server.stop()
    assert f"Using worker: {runs}\n" in log_path.read_text()


@pytest.mark.django_db(transaction=True)
def test_the_access_log_carries_the_routers_request_id(start_app):
    app = start_app({"GUNICORN_ACCESS_LOG": None})
    Visitor(app.url).request("GET", "/", headers={"X-Request-Id": "f00dcafe-1234", "X-Forwarded-For": "203.0.113.5"})
    log = stopped_log(app)
    (line,) = [line for line in log.splitlines() if line.startswith("gunicorn method=GET")]
    assert 'path="/" status=200' in line
    assert "request_id=f00dcafe-1234" in line and 'fwd="203.0.113.5"' in line


@pytest.mark.django_db(transaction=True)
def test_a_keep_alive_connection_serves_request_after_request(start_app):
    app = start_app()
    connection = http.client.HTTPConnection("127.0.0.1", app.port, timeout=10)
    try:
        for _ in range(3):
            connection.request("GET", "/")
            response = connection.getresponse()
            response.read()
            assert response.status == 200
            assert response.getheader("Connection", "keep-alive").lower() != "close"
        assert connection.sock is not None  # the same socket all along
    finally:
        connection.close()
