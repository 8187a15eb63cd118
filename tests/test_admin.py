"""The Django admin for tasks: staff only; list, search, add, edit, delete."""

import pytest

from tasks.models import Task

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def staff_client(client, admin_user):
    client.force_login(admin_user)
    return client


def test_list_and_search(staff_client):
    Task.objects.create(name="buy milk")
    Task.objects.create(name="walk dog")
    listing = staff_client.get("/admin/tasks/task/").content.decode()
    assert "buy milk" in listing and "walk dog" in listing
    found = staff_client.get("/admin/tasks/task/", {"q": "milk"}).content.decode()
    assert "buy milk" in found and "walk dog" not in found


def test_add_edit_delete(staff_client):
    assert staff_client.post("/admin/tasks/task/add/", {"name": "from admin"}).status_code == 302
    task = Task.objects.get()
    assert task.name == "from admin"
    assert staff_client.post(f"/admin/tasks/task/{task.pk}/change/", {"name": "edited"}).status_code == 302
    assert Task.objects.get().name == "edited"
    assert staff_client.post(f"/admin/tasks/task/{task.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not Task.objects.exists()


@pytest.mark.parametrize("name", ["   ", "tab\there"])
def test_admin_applies_the_same_validation(staff_client, name):
    response = staff_client.post("/admin/tasks/task/add/", {"name": name})
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert not Task.objects.exists()
