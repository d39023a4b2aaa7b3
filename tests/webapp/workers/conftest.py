"""A real Celery worker on queues of its own prefix, so what it serves (and lacks) is known to the test."""

from __future__ import annotations

import os

import pytest
from django.core.cache import cache

from tests.services import start_worker
from webapp.workers import selectors

# The suite's queue prefix plus "-w": the suite's own worker (which serves every queue) is not one of ours.
PREFIX = os.environ["PARALAB_QUEUE"] + "-w"
SERVED = ("cpu", "mpi")  # and not native or study, so the submit form has something to warn about


@pytest.fixture(autouse=True)
def fresh_status(settings, monkeypatch):
    """This module's queue prefix, no worker status cached by an earlier test, and 2 s for a worker to answer:
    its 1 s suits a deployment's page, but the worker here has just started beside a loaded suite."""
    settings.CELERY_TASK_DEFAULT_QUEUE = PREFIX
    monkeypatch.setattr(selectors, "INSPECT_TIMEOUT", 2.0)
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(scope="module")
def cpu_mpi_worker(django_db_setup, django_db_blocker):
    """`celery worker -Q <prefix>.cpu,<prefix>.mpi` on the test database; yields its node name."""
    node = f"cpu-mpi-{os.getpid()}@%h"
    worker = start_worker(
        "workers-cpu-mpi", queues=[f"{PREFIX}.{c}" for c in SERVED], hostname=node, PARALAB_QUEUE=PREFIX
    )
    try:
        yield node.replace("%h", os.uname().nodename)
    finally:
        worker.stop()
