"""Online workers, as Celery's own remote-control machinery reports them (like Flower's workers view).

One look at the broker asks every worker for its queues (``active_queues``, which also tells who is
online), then only ours for their pool (``stats``) and machine and current jobs (``paralab_worker``,
tasks/control.py). Only workers serving this deployment's queues are listed:
another deployment on the same Redis is not ours. The answer is cached for a couple of seconds,
and a broker that does not answer within about a second makes the status "unknown", never an error.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import redis
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.cache import cache
from django.utils import timezone
from kombu.exceptions import KombuError

from webapp.jobs.selectors import jobs_visible_to
from webapp.queues import CAPABILITIES, capability_for, queue_name

log = logging.getLogger(__name__)

INSPECT_TIMEOUT = 1.0  # seconds a worker has to answer; a busy worker still answers (its consumer thread does)
CACHE_SECONDS = 2  # how old an answer the workers page may show
KEEP_SECONDS = 60  # how long an answer is kept for readers that accept an older one

# What each capability queue runs, in the words of the submit form.
CAPABILITY_RUNS = {
    "cpu": "the python implementation on sequential, threads, processes or subprocesses",
    "native": "the native implementation",
    "mpi": "the mpi and hybrid backends",
    "study": "scaling studies",
}
POOL_NAMES = {"thread": "threads"}  # module name of the pool class -> the `celery worker -P` name


@dataclass(frozen=True)
class Worker:
    name: str  # Celery's node name, e.g. "cpu@node-a"
    host: str  # the machine's host name, as a job's worker_host records it
    queues: tuple[str, ...]
    capabilities: tuple[str, ...]  # which of cpu, native, mpi, study it serves
    pool: str  # the -P pool: threads, solo, prefork...
    concurrency: int | None
    cores: int | None  # cores it may use (its CPU affinity)
    mpi: bool  # mpiexec and mpi4py present (and its hostfile readable)
    mpi_hosts: tuple[str, ...]  # the hosts in its MPI hostfile; empty: this machine only
    running: int  # Paralab jobs it is running now
    jobs: tuple[int, ...]  # the ids of those jobs (only those the asking user may see, once scoped)
    heartbeat: datetime | None  # when it last answered, by its own clock

    @property
    def other_jobs(self) -> int:
        """Running jobs not listed in ``jobs``: those of teams the asking user is not in."""
        return self.running - len(self.jobs)


@dataclass(frozen=True)
class WorkerStatus:
    known: bool  # False: the broker did not answer, so nobody can tell which workers are online
    workers: tuple[Worker, ...] = ()
    checked_at: datetime = field(default_factory=timezone.now)
    error: str = ""

    def serving(self, capability: str) -> list[Worker]:
        return [worker for worker in self.workers if capability in worker.capabilities]


def _cache_key() -> str:
    # Per queue prefix and broker: two deployments (or two test runs) never share an answer.
    scope = f"{settings.CELERY_TASK_DEFAULT_QUEUE}|{settings.CELERY_BROKER_URL}"
    return "paralab-workers:" + hashlib.sha256(scope.encode()).hexdigest()[:16]


def workers_online(*, max_age: float = CACHE_SECONDS) -> WorkerStatus:
    """Every online worker of this deployment, with all its jobs, as last checked at most ``max_age`` seconds ago.

    Asking the workers takes about INSPECT_TIMEOUT, so a reader that can live with an older answer (a queued
    job's estimate) passes a larger ``max_age``. Unscoped: for the workers page and API use ``worker_status_for_user``.
    """
    key = _cache_key()
    status = cache.get(key)
    if status is None or (timezone.now() - status.checked_at).total_seconds() > max_age:
        status = _inspect()
        cache.set(key, status, KEEP_SECONDS)
    return status


def worker_status_for_user(*, user: User | AnonymousUser) -> WorkerStatus:
    """The online workers, each showing only the current jobs of the user's teams (the count is of all)."""
    status = workers_online()
    running = {job_id for worker in status.workers for job_id in worker.jobs}
    visible = set(jobs_visible_to(user).filter(pk__in=running).values_list("pk", flat=True)) if running else set()
    workers = tuple(replace(w, jobs=tuple(j for j in w.jobs if j in visible)) for w in status.workers)
    return replace(status, workers=workers)


def capability_warnings(
    *, backends: list[str] | tuple[str, ...], implementations: list[str] | tuple[str, ...]
) -> list[str]:
    """For the submit form: one sentence per queue that such a job may need and no online worker serves."""
    status = workers_online()
    if not status.known:
        return [
            "Worker status is unknown: the broker did not answer, so a submitted job may wait until it is back "
            "and a worker picks it up."
        ]
    needed = {capability_for(backend=b, implementation=i) for b in backends for i in implementations}
    return [
        f"No online worker serves the {capability} queue ({CAPABILITY_RUNS[capability]}): such a job stays queued "
        f"until a worker started with -Q {queue_name(capability)} is online."
        for capability in CAPABILITIES
        if capability in needed and not status.serving(capability)
    ]


def _inspect() -> WorkerStatus:
    from webapp.celery import app

    ours = {queue_name(capability) for capability in CAPABILITIES}
    timeouts = {"socket_connect_timeout": INSPECT_TIMEOUT, "socket_timeout": INSPECT_TIMEOUT}
    try:
        with app.connection_for_write(settings.CELERY_BROKER_URL, transport_options=timeouts) as conn:
            conn.ensure_connection(max_retries=0, timeout=INSPECT_TIMEOUT)
            queues = app.control.inspect(timeout=INSPECT_TIMEOUT, connection=conn).active_queues() or {}
            names = sorted(name for name, served in queues.items() if {q["name"] for q in served} & ours)
            if not names:
                return WorkerStatus(known=True)
            # Only ours now, and we know how many answers to wait for: these return as soon as all have answered.
            asked = {"timeout": INSPECT_TIMEOUT, "connection": conn, "limit": len(names)}
            inspect = app.control.inspect(names, **asked)
            stats = inspect.stats() or {}
            machines = app.control.broadcast("paralab_worker", destination=names, reply=True, **asked)
    except (OSError, KombuError, redis.RedisError) as exc:
        log.warning("worker status unknown: the broker did not answer: %s", exc)
        return WorkerStatus(known=False, error=str(exc) or type(exc).__name__)
    machine = {name: reply for answer in machines for name, reply in answer.items()}
    return WorkerStatus(
        known=True,
        workers=tuple(_worker(name, queues[name], stats.get(name) or {}, machine.get(name) or {}) for name in names),
    )


def _worker(
    name: str,
    queues: list[dict[str, Any]],
    stats: dict[str, Any],
    machine: dict[str, Any],
) -> Worker:
    queue_names = tuple(sorted(q["name"] for q in queues))
    pool = stats.get("pool") or {}
    module = str(pool.get("implementation", "")).split(":", 1)[0].rsplit(".", 1)[-1]
    mpi = machine.get("mpi") or {}
    # The worker's own word (tasks/control.py): with fair share a task's argument is the job that woke
    # the worker, not necessarily the one it runs (webapp/jobs/fair_share.py).
    jobs = tuple(int(job_id) for job_id in machine.get("jobs") or ())
    beat = machine.get("time")
    return Worker(
        name=name,
        host=machine.get("host") or name.partition("@")[2],
        queues=queue_names,
        capabilities=tuple(c for c in CAPABILITIES if queue_name(c) in queue_names),
        pool=POOL_NAMES.get(module, module) or "unknown",
        concurrency=pool.get("max-concurrency"),
        cores=machine.get("cores"),
        mpi=bool(mpi.get("available")),
        mpi_hosts=tuple(mpi.get("hosts") or ()),
        running=len(jobs),
        jobs=jobs,
        heartbeat=datetime.fromtimestamp(beat, UTC) if isinstance(beat, int | float) else None,
    )
