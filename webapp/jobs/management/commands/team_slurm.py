"""manage.py team_slurm SLUG [--partition P] [--account A] [--qos Q] [--constraint C]: a team's Slurm defaults."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from webapp.jobs.slurm import FIELDS, team_slurm_set
from webapp.teams.models import Team


class Command(BaseCommand):
    help = "Show or set a team's Slurm defaults, which win over the deployment's PARALAB_SLURM_* (empty removes one)."

    def add_arguments(self, parser):
        parser.add_argument("team", help="the team's slug")
        for name in FIELDS:
            parser.add_argument(f"--{name}")

    def handle(self, *args, **options):
        team = Team.objects.filter(slug=options["team"]).first()
        if team is None:
            raise CommandError(f"no team {options['team']!r}")
        values = {name: options[name] for name in FIELDS if options[name] is not None}
        if values:
            try:
                team_slurm_set(team=team, values=values)
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(f"{team.slug}: {team.slurm or 'the deployment defaults'}")
