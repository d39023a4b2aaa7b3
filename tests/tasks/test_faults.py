"""Faults: a worker killed mid-job, time limits. Nothing is left running and no job stays `running`."""

import time
import uuid

import psutil
import pytest

from kernels.registry import get_workload
from tests.processes import processes_left, run_processes, run_processes_left
from webapp.jobs.models import Job

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

FINAL = ("succeeded", "failed", "cancelled")


def describe(proc: psutil.Process) -> str:
    try:
        return f"{proc.pid} {' '.join(proc.cmdline())[:120]}"
    except psutil.NoSuchProcess:
        return f"{proc.pid} (gone)"


def wait_for_engine(worker_pid: int, at_least: int, timeout: float = 30) -> list[psutil.Process]:
    """The job's processes under a worker: the engine process and what its backend started."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tree = psutil.Process(worker_pid).children(recursive=True)
        if len(run_processes(tree)) >= at_least:
            return tree
        time.sleep(0.05)
    raise AssertionError("the job's processes never started")


# The engine process plus what each backend starts: 2 pool children; 2 Redis workers (own session);
# mpiexec, its proxy and 2 ranks (own session).
BACKENDS = [("processes", "cpu", 3), ("subprocesses", "cpu", 3), ("mpi", "mpi", 5)]


@pytest.mark.parametrize(("backend", "queue", "processes"), BACKENDS, ids=[b[0] for b in BACKENDS])
def test_a_killed_worker_leaves_no_running_job_and_no_process(
    team_setup, worker_factory, wait_for_status, backend, queue, processes
):
    from tasks.jobs import run_job

    prefix = f"victim-{uuid.uuid4().hex[:6]}"
    victim = worker_factory("victim", PARALAB_QUEUE=prefix)
    job = Job.objects.create(team=team_setup["team_a"], submitted_by=team_setup["alice"], workload="fib",
                             params={"ns": [40, 40, 40]}, backend=backend, implementation="python", workers=2)  # fmt: skip
    run_job.apply_async((job.pk,), queue=f"{prefix}.{queue}")
    wait_for_status(job.pk, ("running",))
    tree = wait_for_engine(victim.pid, processes)

    victim.kill()  # kill -9 the worker alone: its engine process must notice and take its group down
    killed_at = time.monotonic()
    survivors = [describe(p) for p in processes_left(lambda: tree, within=5)]
    assert survivors == [], f"the job's processes outlived their worker: {survivors}"
    orphans_gone = time.monotonic() - killed_at

    # Any live worker sweeps; this one considers a worker lost after 3 s of silence.
    worker_factory("rescuer", PARALAB_QUEUE=prefix, PARALAB_WORKER_LOST_AFTER="3")
    lost = wait_for_status(job.pk, FINAL, timeout=60)
    assert lost.status == "failed" and lost.error.startswith("worker lost")
    reaped = time.monotonic() - killed_at
    assert reaped < 60
    assert lost.attempts == 1
    print(
        f"\n[{backend}] kill -9: job processes gone after {orphans_gone:.2f} s; job failed 'worker lost' after {reaped:.1f} s"
    )


def test_time_limit_fails_the_job_and_kills_its_processes(celery_worker, team_setup, api_client_for, wait_for_status):
    client = api_client_for(team_setup["alice"])
    body = {"workload": "fib", "params": {"ns": [40, 40]}, "backend": "processes", "workers": 2, "time_limit": 2}
    response = client.post("/api/v1/jobs/", body, format="json")
    assert response.status_code == 201 and response.json()["time_limit"] == 2
    job = wait_for_status(response.json()["id"], FINAL, timeout=30)
    assert job.status == "failed" and job.error.startswith("time limit")
    assert run_processes_left(celery_worker.pid) == []


def test_time_limit_is_bounded(team_setup, api_client_for):
    client = api_client_for(team_setup["alice"])
    for bad in (0, 10**6, "soon", True):
        response = client.post("/api/v1/jobs/", {"workload": "fib", "time_limit": bad}, format="json")
        assert response.status_code == 400
        assert "time_limit" in response.json()


def test_a_job_whose_artifacts_cannot_be_saved_fails_instead_of_hanging(
    team_setup, worker_factory, wait_for_status, tmp_path
):
    from tasks.jobs import run_job

    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    prefix = f"storage-{uuid.uuid4().hex[:6]}"
    worker_factory("broken-storage", PARALAB_QUEUE=prefix, MEDIA_ROOT=str(not_a_directory / "media"))
    # A row holds the cleaned params, as job_submit stores them: the worker runs them without a second check.
    params = get_workload("mandelbrot").validate({"width": 16, "height": 16})
    job = Job.objects.create(team=team_setup["team_a"], submitted_by=team_setup["alice"], workload="mandelbrot",
                             params=params, backend="sequential", implementation="python")  # fmt: skip
    run_job.apply_async((job.pk,), queue=f"{prefix}.cpu")
    failed = wait_for_status(job.pk, FINAL, timeout=30)
    assert failed.status == "failed" and failed.error.startswith("internal error:")


def test_a_reaped_job_stops_its_run_and_keeps_the_reapers_verdict(
    celery_worker, team_setup, api_client_for, wait_for_status
):
    from webapp.jobs.services import job_transition

    client = api_client_for(team_setup["alice"])
    body = {"workload": "fib", "params": {"ns": [40, 40]}, "backend": "processes", "workers": 2}
    job_id = client.post("/api/v1/jobs/", body, format="json").json()["id"]
    wait_for_status(job_id, ("running",))
    wait_for_engine(celery_worker.pid, 3)
    # What a sweeper on a host whose clock runs ahead would do: declare the worker lost.
    assert job_transition(job_id=job_id, to="failed", only_from=("running",), error="worker lost: test")
    assert run_processes_left(celery_worker.pid) == []
    time.sleep(1)
    job = Job.objects.get(pk=job_id)
    assert job.status == "failed" and job.error == "worker lost: test"


def test_a_subprocesses_job_whose_redis_is_down_fails_without_showing_its_password(
    team_setup, worker_factory, wait_for_status
):
    # Issue 10: the error text (read by every viewer of the team, exported in CSV) held the password.
    from django.conf import settings

    from tasks.jobs import run_job

    password = "s3cret-Redis-PW"
    prefix = f"secret-{uuid.uuid4().hex[:6]}"
    # The broker answers; the Redis the subprocesses backend (and the channel layer) use does not.
    worker = worker_factory("redis-down", PARALAB_QUEUE=prefix, CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
                            REDIS_URL=f"redis://:{password}@127.0.0.1:1/0")  # fmt: skip
    job = Job.objects.create(team=team_setup["team_a"], submitted_by=team_setup["alice"], workload="fib",
                             params={"ns": [20]}, backend="subprocesses", implementation="python", workers=2)  # fmt: skip
    run_job.apply_async((job.pk,), queue=f"{prefix}.cpu")
    failed = wait_for_status(job.pk, FINAL, timeout=30)
    assert failed.status == "failed"
    assert "cannot reach Redis at redis://***@127.0.0.1:1/0 for the subprocesses backend" in failed.error
    assert password not in failed.error and password not in "\n".join(failed.log)
    assert password not in worker.log_path.read_text(errors="replace")
