"""A list-version bump this process couldn't store is owed (tasks/list_version.py):
the cache isn't trusted until a later bump is stored."""

import pytest
from django.core.cache import cache
from django.test import override_settings

from tasks import keys, list_version


def test_a_bump_pays_only_the_failures_before_it_started():
    owed = list_version.OwedBumps()
    failed_before = owed.failed  # thread A starts storing a bump
    owed.fail()  # thread B fails one meanwhile
    owed.pay(failed_before)  # A's bump is stored: it paid nothing of B's
    assert not owed.settled()
    owed.pay(owed.failed)
    assert owed.settled()


def test_a_bump_the_backend_raises_on_is_owed_and_the_error_goes_on(tmp_path):
    directory = tmp_path / "cache"
    file_cache = {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(directory)}
    with override_settings(CACHES={"default": file_cache}):
        assert cache.get(keys.LIST_VERSION) is None  # the backend exists, with its directory
        directory.rmdir()
        directory.write_text("")  # where the directory was: no file can be written
        with pytest.raises(FileExistsError):
            list_version.bump_list_version()
    assert not list_version._owed.settled()
    # The cache works again: the next read stores a new version first.
    version = list_version.current_list_version()
    assert list_version.is_version(version)
    assert list_version._owed.settled()
