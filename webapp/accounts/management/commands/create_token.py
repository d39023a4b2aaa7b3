"""manage.py create_token USERNAME [--name NAME]: print a new API token once."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from webapp.accounts.services import token_create


class Command(BaseCommand):
    help = "Create a personal API token for a user and print it (it is stored hashed and cannot be shown again)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="cli")

    def handle(self, *args, username, name, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user named {username!r}")
        _, text = token_create(user=user, name=name)
        self.stdout.write(text)
