"""Notifications when a job ends: the team's webhooks (signed, retried with backoff, logged) and the
submitter's e-mail if they asked for it. Both go out from Celery tasks (tasks/notifications.py), only
after the job's final state is committed, so a receiver never hears of a state it cannot read back.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from webapp.celery import DELIVER_WEBHOOK, NOTIFY_JOB_ENDED, app
from webapp.jobs.document import WEBHOOK_FIELDS, iso_datetime, job_document
from webapp.jobs.models import FINAL_STATES, Job, Status
from webapp.notifications import outbound
from webapp.notifications.models import (
    DeliveryStatus,
    JobEmail,
    NotificationSettings,
    Webhook,
    WebhookDelivery,
)
from webapp.notifications.selectors import job_email_get
from webapp.notifications.signing import HEADER, signature
from webapp.queues import notify_queue
from webapp.teams.models import Team
from webapp.teams.selectors import team_owner_check

log = logging.getLogger(__name__)

JOB_FINISHED = "job.finished"
PING = "ping"


# --- configuration (team owners, users) ---


def webhook_create(*, actor: User, team: Team, url: str, secret: str) -> Webhook:
    team_owner_check(user=actor, team=team)
    outbound.url_check(url)
    return Webhook.objects.create(team=team, url=url, secret=secret, created_by=actor)


def webhook_delete(*, actor: User, team: Team, webhook_id: int) -> bool:
    team_owner_check(user=actor, team=team)
    return Webhook.objects.filter(pk=webhook_id, team=team).delete()[0] > 0


def webhook_send_test(*, actor: User, team: Team, webhook_id: int) -> WebhookDelivery | None:
    """A ``ping`` delivery to one webhook, sent (and logged) like a job's."""
    team_owner_check(user=actor, team=team)
    webhook = Webhook.objects.filter(pk=webhook_id, team=team).first()
    if webhook is None:
        return None
    delivery = WebhookDelivery.objects.create(
        webhook=webhook, event=PING, payload={"event": PING, "team": team.slug, "sent_by": actor.get_username()}
    )
    transaction.on_commit(lambda: _send(DELIVER_WEBHOOK, delivery.pk))
    return delivery


@transaction.atomic
def job_email_set(*, user: User, job_email: str, email: str) -> NotificationSettings:
    """The user's choice of e-mail about their own jobs, and the address (their account's) to send it to."""
    if job_email not in JobEmail.values:
        raise ValueError(f"unknown choice {job_email!r}")
    if email != user.email:
        user.email = email
        user.save(update_fields=["email"])
    row, _ = NotificationSettings.objects.update_or_create(user=user, defaults={"job_email": job_email})
    return row


# --- a job ended ---


def job_ended(*, job_id: int) -> None:
    """Called by the job state machine on every final transition; the work starts after the commit."""
    transaction.on_commit(lambda: _job_ended_committed(job_id))


def _job_ended_committed(job_id: int) -> None:
    # Most jobs have nobody to tell: look before sending a task message.
    job = Job.objects.filter(pk=job_id).values("team_id", "submitted_by_id").first()
    if job is None:
        return
    wanted = (
        Webhook.objects.filter(team_id=job["team_id"]).exists()
        or NotificationSettings.objects.filter(user_id=job["submitted_by_id"]).exclude(job_email=JobEmail.OFF).exists()
    )
    if wanted:
        _send(NOTIFY_JOB_ENDED, job_id)


def job_notify(*, job_id: int) -> list[int]:
    """The task's work: a delivery per webhook of the job's team (made once, even if the task runs twice),
    and the submitter's e-mail. Returns the deliveries to send."""
    job = Job.objects.select_related("team", "submitted_by").filter(pk=job_id).first()
    if job is None or job.status not in FINAL_STATES:
        return []
    payload = job_payload(job)
    pending = []
    for webhook in Webhook.objects.filter(team=job.team):
        try:
            with transaction.atomic():
                delivery = WebhookDelivery.objects.create(webhook=webhook, event=JOB_FINISHED, job=job, payload=payload)
        except IntegrityError:  # this task ran before (a redelivered message): that delivery carries on
            continue
        pending.append(delivery.pk)
    _job_email(job)
    return pending


def job_payload(job: Job) -> dict[str, Any]:
    study_run = getattr(job, "study_run", None)  # None for a job of no study
    return {
        "event": JOB_FINISHED,
        "team": job.team.slug,
        "job": {
            **job_document(job, WEBHOOK_FIELDS),
            "url": site_url(reverse("job-detail", args=[job.pk])),
            "study": study_run.study_id if study_run else None,
        },
    }


def site_url(path: str) -> str:
    """An absolute link where PARALAB_SITE_URL says where the site is; the path alone otherwise."""
    return settings.PARALAB_SITE_URL.rstrip("/") + path if settings.PARALAB_SITE_URL else path


def _job_email(job: Job) -> None:
    choice = job_email_get(user=job.submitted_by)
    if choice not in (JobEmail.FINISHED, JobEmail.FAILED) or not job.submitted_by.email:
        return
    if choice == JobEmail.FAILED and job.status != Status.FAILED:
        return
    if hasattr(job, "study_run"):  # a study's dozens of jobs would be dozens of e-mails
        return
    subject = f"Job #{job.pk} {job.workload} {job.get_status_display().lower()}"
    lines = [
        f"Your job #{job.pk} ({job.workload} on {job.backend} × {job.implementation} × {job.workers}) "
        f"in {job.team.name} {job.get_status_display().lower()}.",
    ]
    if job.wall_time is not None:
        lines.append(f"Wall time: {job.wall_time:.3f} s.")
    if job.error:
        lines.append(f"Error: {job.error}")
    lines += ["", site_url(reverse("job-detail", args=[job.pk])), "",
              "You get this because of your choice on your profile page; change it there."]  # fmt: skip
    send_mail(subject, "\n".join(lines), None, [job.submitted_by.email])


# --- one delivery attempt ---


def delivery_attempt(*, delivery_id: int) -> float | None:
    """Try to deliver once; returns the seconds to wait before the next attempt, or None when done.

    The attempt is claimed first with a conditional UPDATE on the attempt count, so two workers
    given the same message do not both POST it.
    """
    delivery = WebhookDelivery.objects.select_related("webhook").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return None
    number = delivery.attempt_count + 1
    claimed = WebhookDelivery.objects.filter(
        pk=delivery.pk, status=DeliveryStatus.PENDING, attempt_count=delivery.attempt_count
    ).update(attempt_count=F("attempt_count") + 1)
    if not claimed:
        return None
    body = json.dumps({**delivery.payload, "delivery": delivery.pk}, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Paralab-Webhook/1",
        "X-Paralab-Event": delivery.event,
        "X-Paralab-Delivery": str(delivery.pk),
        HEADER: signature(secret=delivery.webhook.secret, timestamp=int(time.time()), body=body),
    }
    result = outbound.post(delivery.webhook.url, body, headers)
    attempt = {"at": iso_datetime(timezone.now()), "code": result.code, "error": result.error, "ms": result.ms}
    retry_in = None
    if result.code is not None and 200 <= result.code < 300:
        status = DeliveryStatus.DELIVERED
    elif _worth_retrying(result) and number < settings.PARALAB_WEBHOOK_ATTEMPTS:
        status, retry_in = DeliveryStatus.PENDING, settings.PARALAB_WEBHOOK_BACKOFF * 4 ** (number - 1)
    else:
        status = DeliveryStatus.FAILED
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=status,
        attempts=[*delivery.attempts, attempt],
        next_attempt_at=timezone.now() + timedelta(seconds=retry_in) if retry_in is not None else None,
    )
    return retry_in


def _worth_retrying(result: outbound.Outcome) -> bool:
    """No answer, or a 408/429/5xx: the receiver may be back later. A refusal or another 4xx will not change."""
    if result.code is None:
        return not result.error.startswith("refused:")
    return result.code in (408, 429) or result.code >= 500


# --- sending task messages ---


def _send(task_name: str, object_id: int, countdown: float | None = None) -> None:
    """Queue a notification task (tasks/notifications.py) by name; a broker that is away costs the
    notification, never the job's change."""
    try:
        app.send_task(task_name, (object_id,), queue=notify_queue(), countdown=countdown, retry=False)
    except Exception:
        log.warning("could not queue %s for %s", task_name, object_id, exc_info=True)


def delivery_retry(*, delivery_id: int, countdown: float) -> None:
    _send(DELIVER_WEBHOOK, delivery_id, countdown=countdown)
