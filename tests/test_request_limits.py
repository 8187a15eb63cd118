"""
A request body this app never needs is refused before anything reads it
(tasks/request_limits.py): a 413, not a temporary file and then a 403.
"""

import io
import socket

import pytest
from django.conf import settings
from django.core.files.uploadedfile import InMemoryUploadedFile

from tasks.models import Task

pytestmark = pytest.mark.django_db(transaction=True)

THIRTY_MB = 30 * 1024 * 1024
BOUNDARY = "----tasklist-upload"


def send_headers_and_a_little(app, content_type, declared=THIRTY_MB):
    """Declare a large body, send 64 KiB of it, and read the answer.

    A server that reads the body first would wait for the other 29.9 MB:
    the read times out and the test fails. One that refuses it unread
    answers at once.
    """
    head = (
        "POST / HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{app.port}\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Content-Length: {declared}\r\n\r\n"
    )
    # The start of a file field, as a browser sends it.
    part = (
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="file"; filename="big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", app.port), timeout=10) as sock:
        sock.sendall(head.encode() + part.encode() + b"x" * 65536)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), rest.decode(errors="replace")


@pytest.mark.parametrize(
    "content_type",
    [f"multipart/form-data; boundary={BOUNDARY}", "application/x-www-form-urlencoded", "application/octet-stream"],
)
def test_a_30_mb_unauthenticated_post_is_refused_unread(start_app, content_type):
    app = start_app()
    status, _ = send_headers_and_a_little(app, content_type)
    assert status == 413


def test_the_refusal_says_why_and_saves_nothing(client):
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    response = client.post("/", {"name": "x" * limit})
    assert response.status_code == 413
    assert "at most 64 KiB, and no file uploads" in response.content.decode()
    assert not Task.objects.exists()


def test_a_body_under_the_limit_is_handled_as_ever(client):
    # The test client posts multipart, as a form with a file field would.
    assert client.post("/", {"name": "small"}).status_code == 302
    assert client.post("/", {"name": "x" * 60_000}).status_code == 400  # too long a name, said so
    assert list(Task.objects.values_list("name", flat=True)) == ["small"]


def test_a_small_upload_is_never_written_to_disk(rf):
    request = rf.post("/", {"name": "x", "file": io.BytesIO(b"y" * 30_000)})
    assert isinstance(request.FILES["file"], InMemoryUploadedFile)
