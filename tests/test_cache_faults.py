"""
The app when memcached fails: every page is served from the database, and
every write goes through. What the backend itself gives while a server is
down or hung is memcachier_cache/README.md's table, checked by
memcachier_cache/tests/test_faults.py.
"""

import pytest
from django.test import override_settings

from harness.services import free_port
from harness.tarpit import Tarpit
from tasks.models import Task


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("problem", ["refused", "hung"])
def test_the_page_is_served_from_the_database_when_memcached_fails(client, problem):
    Task.objects.create(name="still here")
    with Tarpit() as tarpit:
        address = tarpit.address if problem == "hung" else f"127.0.0.1:{free_port()}"
        config = {
            "BACKEND": "memcachier_cache.MemCachierCache",
            "LOCATION": [address],
            "OPTIONS": {"socket_timeout": 0.25},
        }
        with override_settings(CACHES={"default": config, "template_fragments": config}):
            for _ in range(3):
                response = client.get("/")
                assert response.status_code == 200
                assert '<span class="task-name">still here</span>' in response.content.decode()
                assert response["X-Cache"] == "MISS"
            assert client.post("/", {"name": "added anyway"}).status_code == 302
            assert "added anyway" in client.get("/").content.decode()
