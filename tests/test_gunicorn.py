import urllib.request

import pytest


@pytest.mark.django_db(transaction=True)
def test_gunicorn_serves_the_page_and_the_admin_css(app_server):
    with urllib.request.urlopen(app_server.url + "/") as response:
        assert response.status == 200
        assert b"Current tasks" in response.read()
    with urllib.request.urlopen(app_server.url + "/static/admin/css/base.css") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/css")


@pytest.mark.django_db(transaction=True)
def test_gunicorn_runs_with_debug_off(app_server):
    import urllib.error

    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(app_server.url + "/no-such-page")
    assert error.value.code == 404
    assert b"Traceback" not in error.value.read()
    assert b"DEBUG = True" not in error.value.read()
