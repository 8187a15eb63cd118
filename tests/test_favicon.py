"""/favicon.ico, which a browser asks for on any page that links no icon,
answers with the site's icon, and every page links it (the admin's too):
no 404 in the browser's console."""

from pathlib import Path

import pytest
from django.templatetags.static import static

pytestmark = pytest.mark.django_db(transaction=True)

ICON = Path(__file__).resolve().parents[1] / "tasks" / "static" / "tasks" / "favicon.svg"


def icon_link():
    return f'<link rel="icon" href="{static("tasks/favicon.svg")}" type="image/svg+xml">'


def test_favicon_ico_is_the_sites_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"] == static("tasks/favicon.svg")
    assert "max-age=86400" in response["Cache-Control"]
    icon = client.get(response["Location"])
    assert icon.status_code == 200
    assert icon["Content-Type"] == "image/svg+xml"
    assert b"".join(icon.streaming_content) == ICON.read_bytes()


@pytest.mark.parametrize("path", ["/", "/no-such-page", "/admin/login/"])
def test_public_and_login_pages_link_the_icon(client, path):
    assert icon_link() in client.get(path).content.decode()


@pytest.mark.parametrize("path", ["/admin/", "/admin/cache/", "/admin/tasks/task/", "/admin/tasks/task/add/"])
def test_admin_pages_link_the_icon(client, admin_user, path):
    client.force_login(admin_user)
    body = client.get(path).content.decode()
    assert body.count(icon_link()) == 1
