"""manage.py reap_jobs: one sweep — fail (or requeue) jobs whose worker was lost, re-send lost messages."""

from django.core.management.base import BaseCommand

from webapp.jobs.services import jobs_reap_lost, jobs_redispatch


class Command(BaseCommand):
    help = "End running jobs whose worker stopped heart-beating and re-send queued jobs whose message may be lost."

    def handle(self, *args, **options):
        reaped = jobs_reap_lost()
        resent = jobs_redispatch()
        self.stdout.write(f"reaped {len(reaped)} lost jobs {reaped}; re-sent {resent} queued jobs")
