"""Fixtures for studies: a study made through the service, and its jobs moved to an end state as a worker
would (through the one state machine), with chosen wall times. Outside ``transaction=True`` tests no job
is sent to a broker, so these need no worker; the end-to-end tests use the real one."""

from __future__ import annotations

from typing import Any

import pytest

from webapp.jobs.models import Status
from webapp.jobs.services import job_transition
from webapp.studies.services import study_create

TINY = {"workload": "fib", "params": {"ns": [22, 21]}, "backends": ["processes"], "workers": [1, 2], "repetitions": 1}

PROVENANCE = {
    "host": "bench-1",
    "cpu_model": "Test CPU",
    "logical_cores": 2,
    "physical_cores": 2,
    "load_average": [0.25, 0.2, 0.1],
    "python": "3.11.2",
    "packages": {"numpy": "2.4.6", "mpi4py": "4.1"},
    "paralab_version": "0.1.0",
    "git_commit": "abc123",
}


@pytest.fixture
def make_study():
    def make(*, user: Any, team: Any, **overrides: Any):
        return study_create(user=user, team=team, **{**TINY, **overrides})

    return make


@pytest.fixture
def finish_study():
    """finish(study, times): each job ends ``succeeded`` with ``times[(backend, impl, workers)]`` (a list, one per
    repetition) as its wall time; ``verified`` and ``status`` can be overridden per job id."""

    def finish(study, times, *, verified: dict[int, bool] | None = None, status: dict[int, str] | None = None,
               provenance: dict[str, Any] | None = None) -> None:  # fmt: skip
        for run in study.runs.select_related("job").order_by("id"):
            job = run.job
            wall = times[(job.backend, job.implementation, job.workers)][run.repetition - 1]
            final = (status or {}).get(job.pk, Status.SUCCEEDED)
            assert job_transition(
                job_id=job.pk, to=Status.RUNNING, worker_host="bench-1", provenance=provenance or PROVENANCE
            )
            fields: dict[str, Any] = {}
            if final == Status.SUCCEEDED:
                fields = {"wall_time": wall, "verified": (verified or {}).get(job.pk, True), "result": [1]}
            assert job_transition(job_id=job.pk, to=final, **fields)

    return finish
