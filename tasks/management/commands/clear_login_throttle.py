from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from tasks import login_throttle


class Command(BaseCommand):
    help = (
        "Let an admin account's owner log in again from any browser at once: forget the failed logins counted "
        "against the account (docs/security.md, 'The admin login throttle'). An address over its own limit "
        "stays so until its window ends."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        username = login_throttle.account(username)
        users = get_user_model()._default_manager
        # A typo would clear nothing and leave the owner wondering why.
        if not users.filter(**{users.model.USERNAME_FIELD: username}).exists():
            raise CommandError(f"No user is named {username!r}.")
        login_throttle.clear_account(username)
        self.stdout.write(f"Cleared the failed logins counted against {username!r}: it can log in now.")
