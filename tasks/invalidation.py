"""
When the task list changes, bump its version, after the transaction commits.

post_save/post_delete fire inside the transaction: invalidating there would let
a reader cache the old rows again before the commit. Bumping the version on
commit (and never on rollback) means a reader either saw the old version and
stores under it, where nobody looks any more, or saw the new one.
"""

from django.db import transaction

from tasks import list_version


def invalidate_task_list(using=None):
    transaction.on_commit(list_version.bump_list_version, using=using, robust=True)


def task_saved(sender, instance, using, **kwargs):
    invalidate_task_list(using=using)


def task_deleted(sender, instance, using, **kwargs):
    invalidate_task_list(using=using)
