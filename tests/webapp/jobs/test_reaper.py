"""The sweeper's rules, on the database: lost workers' jobs fail or are requeued once; lost messages are re-sent."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from webapp.jobs.models import Job
from webapp.jobs.services import jobs_reap_lost, jobs_redispatch

pytestmark = pytest.mark.django_db


@pytest.fixture
def running_job(team_setup):
    def make(*, silent_for: float, attempts: int = 1) -> Job:
        now = timezone.now()
        return Job.objects.create(team=team_setup["team_a"], submitted_by=team_setup["alice"], workload="fib",
                                  params={"ns": [5]}, backend="sequential", implementation="python", status="running",
                                  started_at=now - timedelta(seconds=silent_for + 1), worker_host="node-x",
                                  heartbeat_at=now - timedelta(seconds=silent_for), attempts=attempts)  # fmt: skip

    return make


def test_a_heart_beating_job_is_left_alone(running_job):
    job = running_job(silent_for=5)
    assert jobs_reap_lost(lost_after=30) == []
    assert Job.objects.get(pk=job.pk).status == "running"


def test_a_silent_job_fails_with_worker_lost(running_job):
    job = running_job(silent_for=31)
    assert jobs_reap_lost(lost_after=30) == [job.pk]
    job.refresh_from_db()
    assert job.status == "failed" and job.finished_at is not None
    assert job.error == "worker lost: its worker on node-x was silent for more than 30 s"


@override_settings(PARALAB_LOST_JOB_ACTION="requeue")
def test_requeue_mode_requeues_once_then_fails(running_job):
    first = running_job(silent_for=60, attempts=1)
    assert jobs_reap_lost(lost_after=30) == [first.pk]
    first.refresh_from_db()
    assert first.status == "queued" and first.error.startswith("requeued once") and first.dispatched_at is not None
    second = running_job(silent_for=60, attempts=2)  # lost again after its second claim
    jobs_reap_lost(lost_after=30)
    assert Job.objects.get(pk=second.pk).status == "failed"


def test_queued_jobs_whose_message_may_be_lost_are_sent_again(team_setup):
    old = timezone.now() - timedelta(minutes=10)
    fields = {"team": team_setup["team_a"], "submitted_by": team_setup["alice"], "workload": "fib",
              "params": {"ns": [5]}, "backend": "sequential", "implementation": "python"}  # fmt: skip
    never_sent = Job.objects.create(**fields)
    sent_long_ago = Job.objects.create(**fields, dispatched_at=old)
    sent_just_now = Job.objects.create(**fields, dispatched_at=timezone.now())
    Job.objects.filter(pk__in=[never_sent.pk, sent_long_ago.pk, sent_just_now.pk]).update(queued_at=old)
    assert jobs_redispatch(unsent_after=10, resend_after=300) == 2
    assert Job.objects.get(pk=sent_just_now.pk).dispatched_at == sent_just_now.dispatched_at  # not re-sent
    assert Job.objects.get(pk=never_sent.pk).dispatched_at > old
    assert Job.objects.get(pk=sent_long_ago.pk).dispatched_at > old


def test_resends_back_off(team_setup):
    """A job no worker serves is re-sent after 5 min, 10, 20, 40… — not every 5 minutes forever."""
    now = timezone.now()
    job = Job.objects.create(team=team_setup["team_a"], submitted_by=team_setup["alice"], workload="fib",
                             params={"ns": [5]}, backend="mpi", implementation="python", workers=2)  # fmt: skip
    # Queued 2 h ago, last sent 20 min ago: it had waited 100 min before that send, so not yet.
    Job.objects.filter(pk=job.pk).update(queued_at=now - timedelta(hours=2), dispatched_at=now - timedelta(minutes=20))
    assert jobs_redispatch(resend_after=300) == 0
    # Last sent 61 min ago after waiting 59: due.
    Job.objects.filter(pk=job.pk).update(dispatched_at=now - timedelta(minutes=61))
    assert jobs_redispatch(resend_after=300) == 1
