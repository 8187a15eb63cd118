from django.core.management.base import BaseCommand

from tasks import cache_admin


class Command(BaseCommand):
    help = (
        "Clear the task list's cached data: its version (every page's entries are stored under it) and the "
        "newest page's rows, page and fragments. "
        "With --all, clear the whole cache (memcached flush_all, or every file of the file cache): sessions stay, "
        "since they are written through to the database."
    )

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="flush the whole cache")

    def handle(self, *args, **options):
        if options["all"]:
            cache_admin.flush_all()
            self.stdout.write("Cleared the whole cache.")
            return
        present, total = cache_admin.clear_app_keys()
        self.stdout.write(
            f"Cleared the task list cache: {present} of {total} keys were present "
            "(the version, and the newest page's rows, page, list and row fragments)."
        )
