"""The Celery app, configured from Django settings (CELERY_* names), the usual Django way.

The web side sends tasks through it by name (``app.send_task("paralab.run_job", …)``), so ``webapp`` never
imports ``tasks``; the worker (``celery -A tasks worker``, tasks/celery.py) loads the task modules named in
``include``. Importing this reads no settings and sets nothing up: Celery's Django fixup runs ``django.setup()``
when a worker starts.
"""

import os
from typing import Any

from celery import Celery
from kombu import Queue

from webapp.queues import all_queues, notify_queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")

app = Celery("paralab", include=["tasks.jobs", "tasks.studies", "tasks.reaper", "tasks.control", "tasks.notifications"])
app.config_from_object("django.conf:settings", namespace="CELERY")


@app.on_after_configure.connect
def declare_queues(sender: Celery, **kwargs: Any) -> None:
    """A worker started without -Q serves every capability queue and the notification queue. Set when the
    app first reads its configuration, not at import: the names come from the settings."""
    sender.conf.task_queues = [Queue(name) for name in [*all_queues(), notify_queue()]]


# Task names, as the tasks in tasks/ register them.
RUN_JOB = "paralab.run_job"
CALIBRATE_STUDY = "paralab.calibrate_study"
NOTIFY_JOB_ENDED = "paralab.notify_job_ended"
DELIVER_WEBHOOK = "paralab.deliver_webhook"
