from django.core.cache import cache
from django.core.management.base import BaseCommand

from tasks import cache as keys
from tasks.queries import load_tasks


class Command(BaseCommand):
    help = (
        "Clear the task list's cached data: its version, rows, page and fragments. "
        "With --all, clear the whole cache (memcached flush_all): sessions stay, "
        "since they are written through to the database."
    )

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="flush the whole cache")

    def handle(self, *args, **options):
        if options["all"]:
            cache.clear()
            self.stdout.write("Cleared the whole cache.")
            return
        version = cache.get(keys.LIST_VERSION)
        task_keys = keys.all_keys(load_tasks(), version)
        present = cache.get_many(task_keys)
        cache.delete_many(task_keys)
        self.stdout.write(
            f"Cleared the task list cache: {len(present)} of {len(task_keys)} keys were "
            "present (version, rows, page, list and row fragments)."
        )
