"""The Task model and the database's own guards."""

import pytest
from django.db import IntegrityError, transaction

from tasks.models import NAME_MAX_LENGTH, Task

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", ["", "   "])
def test_database_refuses_blank_names(name):
    with pytest.raises(IntegrityError), transaction.atomic():
        Task.objects.create(name=name)


def test_database_refuses_names_over_the_maximum():
    from django.db import DataError

    with pytest.raises((IntegrityError, DataError)), transaction.atomic():
        Task.objects.create(name="x" * (NAME_MAX_LENGTH + 1))


def test_list_is_oldest_first():
    first = Task.objects.create(name="b")
    second = Task.objects.create(name="a")
    assert list(Task.objects.all()) == [first, second]


def test_timestamps_are_set():
    task = Task.objects.create(name="t")
    created = task.created_at
    task.name = "u"
    task.save()
    assert task.created_at == created
    assert task.updated_at > created
