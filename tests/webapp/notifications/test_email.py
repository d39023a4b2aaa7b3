"""E-mail about one's own jobs: opt-in on the profile page (off by default), sent when the job ends as chosen."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from webapp.jobs.models import Job, Status
from webapp.jobs.services import job_transition
from webapp.notifications.models import NotificationSettings
from webapp.notifications.services import job_notify
from webapp.studies.models import Study, StudyRun

pytestmark = pytest.mark.django_db


def ended(team_setup, status: str) -> Job:
    job = Job.objects.create(team=team_setup["team_a"], submitted_by=team_setup["bob"], workload="fib",
                             params={"ns": [5]}, backend="sequential", implementation="python")  # fmt: skip
    job_transition(job_id=job.pk, to=Status.RUNNING)
    job_transition(job_id=job.pk, to=status, error="worker lost: boom" if status == Status.FAILED else "")
    return job


def choose(client, choice: str, email: str = "bob@example.org"):
    return client.post(reverse("job-email-set"), {"job_email": choice, "email": email}, follow=True)


def test_no_mail_unless_asked(team_setup):
    job_notify(job_id=ended(team_setup, Status.FAILED).pk)
    assert mail.outbox == []


def test_failures_only(team_setup, client_for):
    page = choose(client_for(team_setup["bob"]), "failed").content.decode()
    assert "Saved your e-mail choice." in page and 'value="failed" required id="id_job_email_1" checked' in page
    assert NotificationSettings.objects.get(user=team_setup["bob"]).job_email == "failed"
    job_notify(job_id=ended(team_setup, Status.SUCCEEDED).pk)
    assert mail.outbox == []
    failed = ended(team_setup, Status.FAILED)
    job_notify(job_id=failed.pk)
    [message] = mail.outbox
    assert message.to == ["bob@example.org"] and message.subject == f"Job #{failed.pk} fib failed"
    assert "Error: worker lost: boom" in message.body and f"/jobs/{failed.pk}/" in message.body


def test_every_end_but_not_a_studys_jobs(team_setup, client_for):
    choose(client_for(team_setup["bob"]), "finished")
    job_notify(job_id=ended(team_setup, Status.CANCELLED).pk)
    assert [m.subject.split()[-1] for m in mail.outbox] == ["cancelled"]
    job = ended(team_setup, Status.SUCCEEDED)
    study = Study.objects.create(team=team_setup["team_a"], created_by=team_setup["bob"], title="s", workload="fib",
                                 params={"ns": [5]}, backends=["sequential"], implementations=["python"], workers=[1],
                                 repetitions=1)  # fmt: skip
    StudyRun.objects.create(study=study, job=job, repetition=1)
    job_notify(job_id=job.pk)
    assert len(mail.outbox) == 1  # a study's dozens of jobs are not dozens of e-mails


def test_the_form_wants_an_address(team_setup, client_for):
    page = choose(client_for(team_setup["bob"]), "finished", email="").content.decode()
    assert "Give the address to send these e-mails to." in page
    assert not NotificationSettings.objects.exists()
    page = choose(client_for(team_setup["bob"]), "sometimes").content.decode()
    assert "Select a valid choice. sometimes is not one of the available choices." in page
    assert not NotificationSettings.objects.exists()
