"""The Celery app, configured from Django settings (CELERY_* names).

Run a worker with the threads pool: prefork children are daemonic and may not start the
processes that the processes, subprocesses and MPI backends need (DESIGN.md, working recipes):

    celery -A tasks worker -P threads --concurrency 1            # every queue
    celery -A tasks worker -P threads -Q "$(python -m tasks.queues mpi)"   # MPI jobs only
"""

import os

import django
from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")
django.setup()

from tasks.queues import all_queues  # noqa: E402  (needs settings)

app = Celery("paralab", include=["tasks.jobs", "tasks.reaper", "tasks.control"])
app.config_from_object("django.conf:settings", namespace="CELERY")
# A worker started without -Q serves every capability queue.
app.conf.task_queues = [Queue(name) for name in all_queues()]
