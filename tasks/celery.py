"""The Celery app, configured from Django settings (CELERY_* names).

Run a worker with the threads pool: prefork children are daemonic and may not start the
processes that the processes, subprocesses and MPI backends need (DESIGN.md, working recipes):

    celery -A tasks worker -P threads --concurrency 1
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")

app = Celery("paralab", include=["tasks.jobs"])
app.config_from_object("django.conf:settings", namespace="CELERY")
