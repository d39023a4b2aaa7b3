"""Notification tasks: take an id, call the service (webapp/notifications/services.py).

They have a queue of their own, so a webhook does not wait behind the capability queues' jobs;
a worker started without -Q serves it, one started with -Q needs it named (`python -m tasks.notifications`).
"""

from __future__ import annotations

from celery import shared_task

from webapp.celery import DELIVER_WEBHOOK, NOTIFY_JOB_ENDED
from webapp.queues import notify_queue


@shared_task(name=NOTIFY_JOB_ENDED, acks_late=True)
def notify_job_ended(job_id: int) -> None:
    from webapp.notifications.services import job_notify

    for delivery_id in job_notify(job_id=job_id):
        deliver_webhook.apply_async((delivery_id,), queue=notify_queue())


@shared_task(name=DELIVER_WEBHOOK, acks_late=True)
def deliver_webhook(delivery_id: int) -> None:
    from webapp.notifications.services import delivery_attempt, delivery_retry

    retry_in = delivery_attempt(delivery_id=delivery_id)
    if retry_in is not None:
        delivery_retry(delivery_id=delivery_id, countdown=retry_in)


if __name__ == "__main__":
    import django

    django.setup()
    print(notify_queue())
