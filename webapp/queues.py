"""Queues by capability: each job goes to the queue of what its backend needs; a worker serves the queues it is started with.

    cpu     sequential, threads, processes, subprocesses with the python implementation
    native  the compiled kernels (a worker with the Cython extensions built)
    mpi     MPI and hybrid MPI × OpenMP jobs (a worker with mpiexec, and a hostfile for several hosts)
    study   scaling-study jobs, one at a time, so their timings do not disturb each other

Names carry the PARALAB_QUEUE prefix, so a test run or a second deployment on the same Redis
never takes another's jobs. `python -m tasks.queues cpu mpi` prints the names for `celery -Q`.

The notification tasks have a queue of their own (``notify_queue``), so a webhook does not wait behind the
jobs. The web side sends to these queues by task name (webapp/celery.py); the worker serves them (tasks/).
"""

from __future__ import annotations

from django.conf import settings

CAPABILITIES = ("cpu", "native", "mpi", "study")


def queue_name(capability: str) -> str:
    if capability not in CAPABILITIES:
        raise ValueError(f"unknown capability {capability!r}; choose from {', '.join(CAPABILITIES)}")
    return f"{settings.CELERY_TASK_DEFAULT_QUEUE}.{capability}"


def capability_for(*, backend: str, implementation: str, study: bool = False) -> str:
    if study:
        return "study"
    if backend in ("mpi", "hybrid"):  # hybrid starts MPI ranks too
        return "mpi"
    return "native" if implementation == "native" else "cpu"


def all_queues() -> list[str]:
    return [queue_name(c) for c in CAPABILITIES]


def notify_queue() -> str:
    return f"{settings.CELERY_TASK_DEFAULT_QUEUE}.notify"
