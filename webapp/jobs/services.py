"""Writes about jobs: submit, cancel, re-run, and the one state machine every status change goes through."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import models, transaction
from django.db.models import DateTimeField, DurationField, ExpressionWrapper, Value
from django.db.models.functions import Now
from django.utils import timezone

from kernels.engine import RunRequest, check_request
from kernels.errors import UnsupportedCombination
from kernels.params import ParamError
from kernels.registry import UnknownWorkload
from kernels.slurm import ENDED as slurm_ended
from kernels.slurm import cancel_orphan
from webapp.celery import RUN_JOB
from webapp.celery import app as celery_app
from webapp.jobs.events import publish_job, publish_jobs
from webapp.jobs.models import FINAL_STATES, Job, Status
from webapp.notifications.services import job_ended
from webapp.queues import capability_for, queue_name
from webapp.teams.models import Team
from webapp.teams.selectors import team_submitter_check

log = logging.getLogger(__name__)

# The only moves a job can make. running → queued is the reaper's requeue of a job whose worker died.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    Status.QUEUED: (Status.RUNNING, Status.CANCELLED, Status.FAILED),
    Status.RUNNING: (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED, Status.QUEUED),
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


class TooManyActiveJobs(JobInputError):
    """The team already has its limit of queued and running jobs (answered with 429)."""


class TooManySubmissions(TooManyActiveJobs):
    """The user submitted more than PARALAB_SUBMIT_RATE jobs in the last minute (answered with 429)."""


class BrokerUnavailable(RuntimeError):
    """The message broker does not answer: nothing was created (answered with 503)."""


class IllegalTransition(RuntimeError):
    pass


def job_transition(
    *, job_id: int, to: str, only_from: tuple[str, ...] = (), attempt: int | None = None, **fields: Any
) -> bool:
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
    rows = Job.objects.filter(pk=job_id, status__in=sources)
    if attempt is not None:  # a worker recording its run: only if the job is still on that run
        rows = rows.filter(attempts=attempt)
    moved = rows.update(status=to, **fields) == 1
    if moved and to in FINAL_STATES:
        job_ended(job_id=job_id)  # webhooks and e-mail, once this commits (webapp/notifications)
    return moved


def validate_request(
    *, workload: str, params: Any, backend: str, implementation: str, workers: Any, threads: Any = None
) -> dict[str, Any]:
    """The cleaned parameters, or JobInputError naming the field and the reason.

    The one check of a job's request (kernels.engine.check_request): the row keeps the cleaned
    parameters, and the worker runs it as they are (webapp/jobs/execution.py) without checking again."""
    if not isinstance(params, dict):
        raise JobInputError("params", "must be an object of parameter names to values")
    request = RunRequest(workload, params, backend, implementation, workers, job_options(threads=threads))
    try:
        cleaned = check_request(request, max_workers=settings.PARALAB_MAX_WORKERS).request.params
    except UnknownWorkload as exc:
        raise JobInputError("workload", str(exc)) from None
    except ParamError as exc:
        raise JobInputError(f"params.{exc.field}", exc.reason) from None
    except UnsupportedCombination as exc:
        raise JobInputError(exc.field, exc.reason) from None
    return cleaned


def job_options(*, threads: int | None) -> dict[str, Any]:
    """The engine's options for a job: hybrid's threads per rank when one was chosen (None: the default
    layout, chosen on the host that runs the ranks)."""
    return {} if threads is None else {"threads": threads}


def _require_submitter(user: User, team: Team) -> None:
    team_submitter_check(user=user, team=team, action="submit or cancel jobs")


def job_submit(
    *,
    user: User,
    team: Team,
    workload: str,
    params: Any,
    backend: str,
    implementation: str,
    workers: Any,
    rerun_of: Job | None = None,
    study: bool = False,
    time_limit: Any = None,
    threads: Any = None,
) -> Job:
    """Create a queued job and send it to a worker once committed.

    ``study=True`` routes it to the study queue, whose worker runs one job at a time (webapp/queues.py).
    ``threads`` is hybrid's OpenMP threads per MPI rank; None leaves it to the host that runs the job.
    """
    _require_submitter(user, team)
    if rerun_of is not None and (rerun_of.team_id != team.pk or rerun_of.workload != workload):
        raise JobInputError("rerun_of", "a re-run must be of a job of the same team and workload")
    cleaned = validate_request(
        workload=workload, params=params, backend=backend, implementation=implementation, workers=workers,
        threads=threads,
    )  # fmt: skip
    limit = settings.PARALAB_MAX_RUNTIME
    if time_limit is not None and (
        isinstance(time_limit, bool) or not isinstance(time_limit, int) or not 1 <= time_limit <= limit
    ):
        raise JobInputError("time_limit", f"must be an integer number of seconds between 1 and {limit}")
    broker_check()
    with transaction.atomic():
        if not study:  # a study checks its whole batch up front, before the first job
            submit_rate_check(user=user)
            team_capacity_check(team=team, adding=1)
        job = Job.objects.create(
            team=team,
            submitted_by=user,
            workload=workload,
            params=cleaned,
            backend=backend,
            implementation=implementation,
            workers=workers,
            rerun_of=rerun_of,
            time_limit=time_limit,
            threads=threads,
            capability=capability_for(backend=backend, implementation=implementation, study=study),
        )
        # The worker must find the row: enqueue only once it is committed.
        transaction.on_commit(lambda: job_enqueue(job))
    return job


def jobs_submit_planned(
    *,
    user: User,
    team: Team,
    workload: str,
    params: dict[str, Any],
    configs: list[tuple[str, str, int]],
    threads: int | None = None,
    params_for: dict[str, dict[str, Any]] | None = None,
) -> list[Job]:
    """Queue a study's jobs, one per (backend, implementation, workers) in ``configs``, in one INSERT, and
    send them all over one broker connection once committed. ``threads`` is the study's threads per rank,
    for its hybrid jobs only; ``params_for`` gives an implementation params of its own (a calibrated study
    sizes each implementation's baseline apart), others take ``params``.

    For ``webapp.studies.services.study_create``, which has already done per study what ``job_submit``
    does per job: checked the submitter, validated each distinct configuration (``params`` are the
    cleaned ones), asked the broker, and checked the team's room under its lock in this transaction.
    """
    own = params_for or {}
    jobs = Job.objects.bulk_create(
        Job(team=team, submitted_by=user, workload=workload, params=own.get(implementation, params), backend=backend,
            implementation=implementation, workers=workers, threads=threads if backend == "hybrid" else None,
            capability=capability_for(backend=backend, implementation=implementation, study=True))
        for backend, implementation, workers in configs
    )  # fmt: skip
    transaction.on_commit(lambda: jobs_enqueue(jobs))
    return jobs


def submit_rate_check(*, user: User) -> None:
    """Refuse a job if the user submitted PARALAB_SUBMIT_RATE in the last minute (studies' jobs excepted).

    Call it in the transaction that inserts the job: the user's row stays locked until it commits, so
    concurrent submissions by the same user, to any of their teams, count one after the other. The
    rate is the user's across teams, so a team's lock alone would not do.
    """
    get_user_model().objects.select_for_update(no_key=True).get(pk=user.pk)
    recent = Job.objects.filter(submitted_by=user, queued_at__gte=timezone.now() - timedelta(minutes=1)).exclude(
        capability="study"
    )
    if recent.count() >= settings.PARALAB_SUBMIT_RATE:
        raise TooManySubmissions(
            "submissions", f"at most {settings.PARALAB_SUBMIT_RATE} submissions a minute; wait a little"
        )


def team_capacity_check(*, team: Team, adding: int) -> None:
    """Refuse ``adding`` more jobs if the team would pass PARALAB_TEAM_MAX_ACTIVE queued or running jobs.

    Call it in the transaction that inserts the jobs: the team's row stays locked until it commits,
    so concurrent submissions to the team (jobs and studies) count one after the other and cannot all
    pass on the same count. (On SQLite, whose transactions start IMMEDIATE, writers already queue.)
    Lock order where both are taken: the user, then the team.
    """
    Team.objects.select_for_update(no_key=True).get(pk=team.pk)
    limit = settings.PARALAB_TEAM_MAX_ACTIVE
    active = Job.objects.filter(team=team, status__in=(Status.QUEUED, Status.RUNNING)).count()
    if active + adding > limit:
        raise TooManyActiveJobs(
            "team",
            f"{team} already has {active} queued or running jobs and its limit is {limit}; "
            f"{adding} more would pass it: wait for some to finish",
        )


def broker_check() -> None:
    """Refuse a submission while the broker is down, rather than accept a job no worker will hear of."""
    import redis

    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://")):
        return
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping()
    except redis.RedisError as exc:
        raise BrokerUnavailable(f"the job queue (Redis) is not answering: {exc}; nothing was submitted") from exc


def job_enqueue(job: Job) -> bool:
    """Send the job to the queue of its capability (webapp/queues.py) and tell its watchers.

    A send that fails leaves ``dispatched_at`` empty; ``jobs_redispatch`` tries again later.
    """
    return jobs_enqueue([job]) == 1


def jobs_enqueue(jobs: list[Job]) -> int:
    """``job_enqueue`` for several jobs over one broker connection, with one UPDATE and one read to tell
    their watchers; how many were sent (the rest wait for ``jobs_redispatch``)."""
    sent: list[int] = []
    try:
        with celery_app.producer_or_acquire() as producer:
            for job in jobs:
                # By name (tasks/jobs.py registers it): the web side does not import the worker's code.
                celery_app.send_task(
                    RUN_JOB, (job.pk,), queue=queue_name(job.capability), retry=False, producer=producer
                )
                sent.append(job.pk)
    except Exception:
        unsent = [job.pk for job in jobs if job.pk not in sent]
        log.warning("could not send jobs %s to the broker; the sweeper will retry", unsent, exc_info=True)
    if sent:
        Job.objects.filter(pk__in=sent).update(dispatched_at=timezone.now())
        publish_jobs(sent)
    return len(sent)


def jobs_redispatch(*, unsent_after: float = 10.0, resend_after: float | None = None) -> int:
    """Send again the queued jobs whose message may be lost: never sent, or sent long ago.

    Redis keeps queued messages in memory; after a broker restart they are gone while the rows
    still say queued. A duplicate message is harmless: the claim lets only one run happen. The
    wait between sends doubles (a send waits at least as long as the job had waited before it), so
    a job no worker serves gets a handful of messages a day, not one every few minutes.
    """
    now = timezone.now()
    resend_after = settings.PARALAB_REDISPATCH_AFTER if resend_after is None else resend_after
    stale = Job.objects.filter(status=Status.QUEUED, queued_at__lt=now - timedelta(seconds=unsent_after)).filter(
        models.Q(dispatched_at__isnull=True) | models.Q(dispatched_at__lt=now - timedelta(seconds=resend_after))
    )
    due = [
        job
        for job in stale.order_by("queued_at")[:500]
        if job.dispatched_at is None or now - job.dispatched_at >= job.dispatched_at - job.queued_at
    ]
    return jobs_enqueue(due)


def jobs_reap_lost(*, lost_after: float | None = None) -> list[int]:
    """End (or requeue once) the running jobs whose worker stopped heart-beating."""
    lost_after = settings.PARALAB_WORKER_LOST_AFTER if lost_after is None else lost_after
    # The database's clock on both sides (heartbeats are written with Now()): hosts' clocks may differ.
    cutoff = ExpressionWrapper(
        Now() - Value(timedelta(seconds=lost_after), output_field=DurationField()), output_field=DateTimeField()
    )
    silent = Job.objects.filter(status=Status.RUNNING).filter(
        models.Q(heartbeat_at__lt=cutoff) | models.Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
    )
    reaped = []
    for job in silent:
        silence = f"its worker on {job.worker_host or 'an unknown host'} was silent for more than {lost_after:g} s"
        silence += _cancel_orphaned_slurm_job(job)
        if settings.PARALAB_LOST_JOB_ACTION == "requeue" and job.attempts < 2:
            if job_transition(job_id=job.pk, to=Status.QUEUED, only_from=(Status.RUNNING,), heartbeat_at=None,
                              error=f"requeued once: {silence}", provenance=job.provenance):  # fmt: skip
                job_enqueue(job)
                reaped.append(job.pk)
        elif job_transition(
            job_id=job.pk, to=Status.FAILED, only_from=(Status.RUNNING,), error=f"worker lost: {silence}",
            provenance=job.provenance,
        ):  # fmt: skip
            publish_job(job.pk)
            reaped.append(job.pk)
    return reaped


def _cancel_orphaned_slurm_job(job: Job) -> str:
    """scancel the Slurm job a lost worker was following ("; its Slurm job 12 was cancelled"), else "".

    Before the job is failed or requeued, so a requeued job never runs twice, and outside any
    transaction (the sweep runs in autocommit), as scancel may take seconds. The words go into the
    job's error and its provenance's Slurm record; a failure (no Slurm commands on this host) is said there too.
    """
    slurm = (job.provenance or {}).get("slurm") or {}
    if not slurm.get("job_id") or slurm.get("state") in slurm_ended:
        return ""
    cancelled, said = cancel_orphan(str(slurm["job_id"]))
    slurm = {**slurm, "orphan": said}
    if cancelled:
        slurm["state"] = "CANCELLED"  # a later reap (of the requeued run) does not cancel it again
    else:
        log.warning("job %s, worker lost: %s", job.pk, said)
    job.provenance = {**job.provenance, "slurm": slurm}
    return f"; {said}"


def job_rerun(*, user: User, job: Job, params: Any = None) -> Job:
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
        rerun_of=job,  # an ordinary job, under the user's limits, even when the original was a study's
        time_limit=job.time_limit,
        threads=job.threads,
    )


def job_cancel(*, user: User, job: Job) -> Job:
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
