"""Writes about jobs: submit, cancel, re-run, and the one state machine every status change goes through."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from kernels.engine import RunRequest, check_request
from kernels.errors import UnsupportedCombination
from kernels.params import ParamError
from kernels.registry import UnknownWorkload
from webapp.jobs.events import publish_job
from webapp.jobs.models import FINAL_STATES, Job, Status
from webapp.teams.models import Team
from webapp.teams.selectors import membership_get

# The only moves a job can make.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    Status.QUEUED: (Status.RUNNING, Status.CANCELLED, Status.FAILED),
    Status.RUNNING: (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED),
    Status.SUCCEEDED: (),
    Status.FAILED: (),
    Status.CANCELLED: (),
}


class JobInputError(ValueError):
    """Bad input for a job; ``field`` is the request field (``params.ns`` for a parameter)."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class IllegalTransition(RuntimeError):
    pass


def job_transition(*, job_id: int, to: str, only_from: tuple[str, ...] = (), **fields: Any) -> bool:
    """Move a job to ``to`` from a state allowed to reach it (narrowed to ``only_from`` if given),
    atomically; False if the job was not in such a state.

    A conditional UPDATE … WHERE status IN (…): two workers (or a worker and a cancel) racing on
    the same job cannot both win, which is what makes a redelivered task harmless.
    """
    sources = [state for state, targets in TRANSITIONS.items() if to in targets]
    if only_from:
        if not set(only_from) <= set(sources):
            raise IllegalTransition(f"{only_from} cannot lead to {to}")
        sources = list(only_from)
    if not sources:
        raise IllegalTransition(f"no state leads to {to}")
    now = timezone.now()
    if to == Status.RUNNING:
        fields.setdefault("started_at", now)
    if to in FINAL_STATES:
        fields.setdefault("finished_at", now)
    return Job.objects.filter(pk=job_id, status__in=sources).update(status=to, **fields) == 1


def validate_request(*, workload: str, params: Any, backend: str, implementation: str, workers: Any) -> dict[str, Any]:
    """The cleaned parameters, or JobInputError naming the field and the reason."""
    if not isinstance(params, dict):
        raise JobInputError("params", "must be an object of parameter names to values")
    request = RunRequest(workload, params, backend, implementation, workers)
    try:
        _, cleaned = check_request(request, max_workers=settings.PARALAB_MAX_WORKERS)
    except UnknownWorkload as exc:
        raise JobInputError("workload", str(exc)) from None
    except ParamError as exc:
        raise JobInputError(f"params.{exc.field}", exc.reason) from None
    except UnsupportedCombination as exc:
        raise JobInputError(exc.field, exc.reason) from None
    return cleaned


def _require_submitter(user: AbstractBaseUser, team: Team) -> None:
    membership = membership_get(user=user, team=team)
    if membership is None or not membership.can_submit:
        raise PermissionDenied("Viewers cannot submit or cancel jobs in this team.")


def job_submit(
    *,
    user: AbstractBaseUser,
    team: Team,
    workload: str,
    params: Any,
    backend: str,
    implementation: str,
    workers: Any,
    rerun_of: Job | None = None,
    study: bool = False,
) -> Job:
    """Create a queued job and send it to a worker once committed.

    ``study=True`` routes it to the study queue, whose worker runs one job at a time (tasks/queues.py).
    """
    _require_submitter(user, team)
    if rerun_of is not None and (rerun_of.team_id != team.pk or rerun_of.workload != workload):
        raise JobInputError("rerun_of", "a re-run must be of a job of the same team and workload")
    cleaned = validate_request(
        workload=workload, params=params, backend=backend, implementation=implementation, workers=workers
    )
    with transaction.atomic():
        job = Job.objects.create(
            team=team,
            submitted_by=user,
            workload=workload,
            params=cleaned,
            backend=backend,
            implementation=implementation,
            workers=workers,
            rerun_of=rerun_of,
        )
        # The worker must find the row: enqueue only once it is committed.
        transaction.on_commit(lambda: job_enqueue(job, study=study))
    return job


def job_enqueue(job: Job, *, study: bool = False) -> None:
    """Send the job to the queue of its capability (tasks/queues.py) and tell its watchers."""
    from tasks.jobs import run_job
    from tasks.queues import capability_for, queue_name

    queue = queue_name(capability_for(backend=job.backend, implementation=job.implementation, study=study))
    run_job.apply_async((job.pk,), queue=queue)
    publish_job(job.pk)


def job_rerun(*, user: AbstractBaseUser, job: Job, params: Any = None) -> Job:
    """A new job like ``job``, optionally with some parameters changed."""
    merged = {**job.params, **params} if isinstance(params, dict) else job.params if params is None else params
    return job_submit(
        user=user,
        team=job.team,
        workload=job.workload,
        params=merged,
        backend=job.backend,
        implementation=job.implementation,
        workers=job.workers,
        rerun_of=job,
    )


def job_cancel(*, user: AbstractBaseUser, job: Job) -> Job:
    """A queued job never starts; a running one is killed by its worker within a second."""
    _require_submitter(user, job.team)
    now = timezone.now()
    cancelled = job_transition(
        job_id=job.pk, to=Status.CANCELLED, only_from=(Status.QUEUED,), error="cancelled before it started"
    )
    if not cancelled:
        # A running job's processes must be killed first: its worker sees this flag and does both.
        Job.objects.filter(pk=job.pk, status=Status.RUNNING).update(cancel_requested_at=now)
    job.refresh_from_db()
    if cancelled:
        transaction.on_commit(lambda: publish_job(job.pk))
    return job
