"""Job tasks: take an id, call the service.

A message is a wake-up for its queue: the worker runs the queued job whose turn it is there
(webapp/jobs/fair_share.py), which need not be the message's own job.
"""

from __future__ import annotations

import threading

from celery import shared_task
from celery.signals import worker_ready

from kernels.isolated import start_warm
from webapp.celery import RUN_JOB

CLAIM_TRIES = 10  # each lost claim means another worker took a job, so a few tries are plenty

_running: set[int] = set()  # the jobs this worker process is running, for `inspect paralab_worker`
_running_lock = threading.Lock()


def running_jobs() -> list[int]:
    with _running_lock:
        return sorted(_running)


@shared_task(name=RUN_JOB, acks_late=True)
def run_job(job_id: int) -> None:
    from webapp.jobs.execution import job_execute
    from webapp.jobs.fair_share import job_next_in_turn
    from webapp.jobs.models import Job

    capability = Job.objects.filter(pk=job_id).values_list("capability", flat=True).first()
    if capability is None:  # the job (and its team) was deleted; the other jobs have messages of their own
        return
    for _ in range(CLAIM_TRIES):
        turn = job_next_in_turn(capability=capability)
        if turn is None:
            return
        with _running_lock:
            _running.add(turn)
        try:
            if job_execute(turn):
                return
        finally:
            with _running_lock:
                _running.discard(turn)


@worker_ready.connect
def start_warm_engine(**kwargs: object) -> None:
    """A warm engine (kernels/isolated.py) for this worker's first job too, not only for those after a run.

    Started here, in the worker's own process: with the threads pool (tasks/celery.py) its tasks run in it,
    and a warm engine serves only the process that started it.
    """
    start_warm()
