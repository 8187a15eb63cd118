"""
A forged list version costs the app a miss, never code or a 500.

The backend loads nothing it can't authenticate (memcachier_cache/values.py,
memcachier_cache/tests/test_values.py); a genuine value of the wrong shape
is the app's to refuse (tasks/list_version.py). The app runs under gunicorn,
in another process, and its log is read afterwards.
"""

import os
import pickle

import pytest
from django.core.cache import cache

from harness.visitor import Visitor
from memcachier_cache.tests.test_values import RunsCode, store_raw
from memcachier_cache.values import PICKLED, SIGNED
from tasks import keys
from tasks.models import Task
from tests.conftest import stopped_log


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "forgery",
    ["a pickle that runs code", "an integer", "a string that is no version", "a signed value of another shape"],
)
def test_a_forged_list_version_costs_a_miss_never_code_or_a_500(start_app, tmp_path, forgery):
    marker = tmp_path / "ran"
    Task.objects.create(name="still shown")
    app = start_app()
    assert Visitor(app.url).get().status == 200
    if forgery == "a pickle that runs code":
        store_raw(keys.LIST_VERSION, PICKLED | SIGNED, os.urandom(32) + pickle.dumps(RunsCode(marker)))
    elif forgery == "an integer":
        store_raw(keys.LIST_VERSION, 2, b"12345")
    elif forgery == "a string that is no version":
        cache.set(keys.LIST_VERSION, "<script>")  # genuine: signed with the app's own key
    else:
        cache.set(keys.LIST_VERSION, ("a", "tuple"))
    pages = [Visitor(app.url).get() for _ in range(3)]
    log = stopped_log(app)
    assert [page.status for page in pages] == [200] * 3
    assert all('<span class="task-name">still shown</span>' in page.text for page in pages)
    assert pages[-1].headers["X-Cache"] == "HIT"  # a fresh version replaced it
    assert not marker.exists()
    if forgery == "a pickle that runs code":
        assert "not loaded" in log
