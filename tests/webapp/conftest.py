"""Fixtures for the web pages: logged-in browsers (Django's test client) and jobs in given states.

Jobs are made through the services, as the product makes them. Outside ``transaction=True`` tests
the ``on_commit`` enqueue never fires, so no broker or worker is needed here.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.test import Client

from webapp.jobs.models import Artifact, Job, Status
from webapp.jobs.services import job_submit, job_transition

# A 1×1 grey PNG: enough for a browser to show and for a test to compare bytes.
TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010800000000"
    "3a7e9b550000000a49444154789c636800000082008177cd72b60000000049454e44ae426082"
)


@pytest.fixture
def client_for():
    """A test client logged in as ``user`` (a fresh client per call, so two users can be compared)."""

    def make(user: Any) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def make_job():
    """A job submitted through ``job_submit`` and, if asked, moved along the state machine to ``status``."""

    def make(
        *,
        user: Any,
        team: Any,
        workload: str = "fib",
        params: dict[str, Any] | None = None,
        backend: str = "sequential",
        implementation: str = "python",
        workers: int = 1,
        status: str = Status.QUEUED,
        **fields: Any,
    ) -> Job:
        job = job_submit(
            user=user,
            team=team,
            workload=workload,
            params=params if params is not None else {"ns": [20, 21]},
            backend=backend,
            implementation=implementation,
            workers=workers,
        )
        if status != Status.QUEUED:
            running_fields = {k: fields.pop(k) for k in ("worker_host", "provenance", "progress") if k in fields}
            if status != Status.CANCELLED:
                assert job_transition(job_id=job.pk, to=Status.RUNNING, **running_fields)
            if status != Status.RUNNING:
                assert job_transition(job_id=job.pk, to=status, **fields)
        job.refresh_from_db()
        return job

    return make


@pytest.fixture
def make_artifact(settings, tmp_path):
    """An artifact file stored with Django's storage, under a per-test MEDIA_ROOT."""
    settings.MEDIA_ROOT = str(tmp_path / "media")

    def make(job: Job, name: str = "mandelbrot.png", data: bytes = TINY_PNG) -> Artifact:
        return Artifact.objects.create(
            job=job,
            name=name,
            file=ContentFile(data, name=f"job-{job.pk}-{name}"),
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
        )

    return make
