"""The task list's views: every path, including the bad ones."""

import re

import pytest

from tasks.models import Task

pytestmark = pytest.mark.django_db(transaction=True)


def names_on_page(response):
    return re.findall(r'<span class="task-name">(.*?)</span>', response.content.decode())


def test_get_shows_the_form_and_the_list_newest_first(client):
    Task.objects.create(name="first")
    Task.objects.create(name="second")
    response = client.get("/")
    assert response.status_code == 200
    assert names_on_page(response) == ["second", "first"]
    body = response.content.decode()
    assert '<label for="id_name">Task name</label>' in body
    assert ">Add task</button>" in body


def test_empty_list_says_so(client):
    assert "No tasks yet." in client.get("/").content.decode()


def test_post_adds_then_redirects(client):
    response = client.post("/", {"name": "  Buy milk  "})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert list(Task.objects.values_list("name", flat=True)) == ["Buy milk"]
    assert names_on_page(client.get("/")) == ["Buy milk"]


@pytest.mark.parametrize(
    "name, message",
    [
        ("", "Task name is required."),
        ("   \u3000 ", "Task name is required."),
        ("x" * 201, "Task name is too long: at most 200 characters."),
        ("nul\x00here", "Null characters are not allowed."),
        ("tab\there", "Task name can&#x27;t contain control characters"),
        ("line\nbreak", "Task name can&#x27;t contain control characters"),
        ("bell\x07", "Task name can&#x27;t contain control characters"),
        ("c1\x85inside", "Task name can&#x27;t contain control characters"),
    ],
)
def test_bad_names_get_a_message_and_change_nothing(client, name, message):
    response = client.post("/", {"name": name})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Task.objects.exists()


def test_missing_name_field_is_required(client):
    response = client.post("/", {})
    assert response.status_code == 400
    assert "Task name is required." in response.content.decode()


def test_the_longest_allowed_name_is_stored(client):
    assert client.post("/", {"name": "x" * 200}).status_code == 302
    assert Task.objects.get().name == "x" * 200


def test_html_and_js_are_stored_as_typed_and_shown_escaped(client):
    name = "<script>alert(\"x\")</script> & 'quotes'"
    client.post("/", {"name": name})
    assert Task.objects.get().name == name
    body = client.get("/").content.decode()
    assert "<script>alert" not in body
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#x27;quotes&#x27;" in body


def test_unicode_is_kept(client):
    client.post("/", {"name": "Café ☕ 漢字 🙂"})
    assert names_on_page(client.get("/")) == ["Café ☕ 漢字 🙂"]


def test_invalid_post_keeps_the_typed_name_in_the_form(client):
    response = client.post("/", {"name": "x" * 201})
    assert 'value="' + "x" * 201 + '"' in response.content.decode()


def test_delete_removes_the_task(client):
    task = Task.objects.create(name="done")
    response = client.post(f"/{task.pk}/delete")
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert not Task.objects.exists()
    assert names_on_page(client.get("/")) == []


@pytest.mark.parametrize("task_id", ["424242", "0", "99999999999999999999999999999"])
def test_deleting_a_missing_task_says_so_without_a_500(client, task_id):
    Task.objects.create(name="stays")
    response = client.post(f"/{task_id}/delete", follow=True)
    assert response.status_code == 200
    assert "That task was already deleted." in response.content.decode()
    assert Task.objects.count() == 1


def test_deleting_twice_is_harmless(client):
    task = Task.objects.create(name="once")
    client.post(f"/{task.pk}/delete")
    response = client.post(f"/{task.pk}/delete", follow=True)
    assert "That task was already deleted." in response.content.decode()


@pytest.mark.parametrize("path", ["/-1/delete", "/abc/delete", "/1/delete/x"])
def test_ids_that_are_not_ids_are_404(client, path):
    assert client.post(path).status_code == 404


def test_unknown_pages_get_the_sites_own_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    body = response.content.decode()
    assert "Page not found" in body
    assert 'href="/static/tasks/style' in body  # styled, not Django's bare page


def test_a_failing_view_gets_the_sites_own_500(rf):
    # Django renders 500.html with an empty context: no request, no cache.
    from django.views.defaults import server_error

    response = server_error(rf.get("/"))
    assert response.status_code == 500
    body = response.content.decode()
    assert "Something went wrong on our side" in body
    assert 'href="/static/tasks/style' in body


@pytest.mark.parametrize(
    "method, path",
    [("put", "/"), ("patch", "/"), ("delete", "/"), ("get", "/1/delete"), ("put", "/1/delete")],
)
def test_wrong_methods_get_405(client, method, path):
    Task.objects.create(name="stays")
    assert getattr(client, method)(path).status_code == 405
    assert Task.objects.count() == 1


def test_head_is_allowed(client):
    assert client.head("/").status_code == 200


def test_plain_http_is_redirected_to_https():
    from django.test import Client

    response = Client().get("/")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/"


@pytest.mark.parametrize(
    "name, message",
    [
        ("\u200b\u200b\u200b", "Task name needs at least one visible character."),
        ("\u2060\ufeff\u200d", "Task name needs at least one visible character."),
        ("\u3164", "Task name needs at least one visible character."),
        ("\u0301\u0308", "Task name needs at least one visible character."),
        ("invoice\u202egnp.exe", "Task name can&#x27;t contain bidirectional control characters"),
        ("\u2066hidden\u2069", "Task name can&#x27;t contain bidirectional control characters"),
        ("mark\u200f", "Task name can&#x27;t contain bidirectional control characters"),
    ],
    ids=["zero-width spaces", "word joiner and BOM", "hangul filler", "lone accents", "RLO", "isolate", "RLM"],
)
def test_names_that_look_blank_or_disguised_are_refused_with_a_message(client, name, message):
    response = client.post("/", {"name": name})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Task.objects.exists()


@pytest.mark.parametrize("name", ["e\u0301", "a\u200bb", "漢字", "🙂", "٣", "-"])
def test_names_with_a_visible_character_are_kept_as_typed(client, name):
    assert client.post("/", {"name": name}).status_code == 302
    assert Task.objects.get().name == name
