"""A worker's warm engine (kernels/isolated.py) is ready before its first job, so that job starts warm too."""

import time
import uuid

import psutil
import pytest

from kernels.isolated import WARM_NAME
from kernels.registry import get_workload
from webapp.jobs.models import Job

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def warm_engine_of(worker_pid: int, timeout: float = 30) -> psutil.Process:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for child in psutil.Process(worker_pid).children():
            try:
                if child.name() == WARM_NAME:
                    return child
            except psutil.NoSuchProcess:
                pass
        time.sleep(0.05)
    raise AssertionError(f"the worker has no warm engine {timeout:g} s after it was ready")


def test_a_workers_first_job_runs_in_the_warm_engine_started_when_it_was_ready(
    team_setup, worker_factory, wait_for_status
):
    from tasks.jobs import run_job

    prefix = f"warm-{uuid.uuid4().hex[:6]}"
    worker = worker_factory("warm-first-job", PARALAB_QUEUE=prefix)
    warm = warm_engine_of(worker.pid)  # before any job: started when the worker was ready
    # A row holds the cleaned params, as job_submit stores them.
    job = Job.objects.create(team=team_setup["team_a"], submitted_by=team_setup["alice"], workload="fib",
                             params=get_workload("fib").validate({"ns": [32, 32]}), backend="processes",
                             implementation="python", workers=2)  # fmt: skip
    run_job.apply_async((job.pk,), queue=f"{prefix}.cpu")
    # The run's pool processes are forked by whichever engine runs it: the warm one, if it was taken.
    pool_in_warm_engine = False
    deadline = time.monotonic() + 60
    while not pool_in_warm_engine and time.monotonic() < deadline:
        try:
            pool_in_warm_engine = len(warm.children()) >= 2
        except psutil.NoSuchProcess:
            break  # it ended (its run done, or killed as stale) before its pool was seen
        time.sleep(0.01)
    done = wait_for_status(job.pk, ("succeeded", "failed", "cancelled"), timeout=60)
    assert done.status == "succeeded", done.error
    assert pool_in_warm_engine, "the first job did not run in the warm engine the worker had ready"
    # What it paid from its claim to its first unit running (make bench-live's start-cost table reads it).
    assert 0 < done.measurement["start_cost"] < 10
