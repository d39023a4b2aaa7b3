"""manage.py demo_setup: the demo login and team that `make run` prints (idempotent)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from webapp.teams.models import Team
from webapp.teams.services import team_create


class Command(BaseCommand):
    help = "Create (or reset the password of) the demo user, who owns the demo team."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="demo")
        parser.add_argument("--password", default="paralab-demo")
        parser.add_argument("--team", default="Demo team")

    def handle(self, *args, username, password, team, **options):
        user, created = get_user_model().objects.get_or_create(username=username)
        user.set_password(password)
        user.save(update_fields=["password"])
        if not Team.objects.filter(memberships__user=user).exists():
            team_create(name=team, owner=user)
        self.stdout.write(f"demo login: {username} ({'created' if created else 'exists'})")
