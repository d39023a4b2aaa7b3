"""Jobs run end to end on a real Celery worker process (threads pool), against the real Redis and database."""

import time

import psutil
import pytest

from kernels.backends.hybrid import threads_per_rank
from tests.processes import run_processes, run_processes_left
from webapp.jobs.models import Job

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

SEED = [39088169, 24157817, 14930352, 9227465, 5702887, 3524578]
FINAL = ("succeeded", "failed", "cancelled")


def submit(client, **body):
    response = client.post("/api/v1/jobs/", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


@pytest.fixture
def alice_api(team_setup, api_client_for):
    return api_client_for(team_setup["alice"])


def test_seed_fib_job_on_processes_succeeds_with_the_seed_result(celery_worker, alice_api, wait_for_status):
    job_id = submit(alice_api, workload="fib", backend="processes", workers=2)
    job = wait_for_status(job_id, FINAL, timeout=120)
    assert job.status == "succeeded", job.error
    assert job.result == SEED and job.verified is True
    assert job.progress["done"] == job.progress["total"] == 6
    assert set(job.progress["workers"]) == {"0", "1"}
    assert job.worker_host and job.provenance["logical_cores"] >= 1 and job.provenance["python"]
    assert job.started_at <= job.finished_at and job.wall_time > 0
    body = alice_api.get(f"/api/v1/jobs/{job_id}/").json()
    assert body["status"] == "succeeded" and body["result"] == SEED


def test_mpi_ring_job_runs_under_mpiexec_on_the_worker(celery_worker, alice_api, wait_for_status):
    job_id = submit(alice_api, workload="mpi_ring", backend="mpi", workers=3)
    job = wait_for_status(job_id, FINAL)
    assert job.status == "succeeded", job.error
    assert job.result["message"] == "P0P1P2" and job.verified is True
    assert any("I am rank 2 of 3" in line for line in job.log)


def test_openmp_and_hybrid_jobs_run_on_the_worker(celery_worker, alice_api, wait_for_status):
    heat = submit(alice_api, workload="heat", params={"rows": 64, "cols": 48, "steps": 40}, backend="openmp",
                  implementation="native", workers=2)  # fmt: skip
    mandelbrot = submit(alice_api, workload="mandelbrot", params={"width": 96, "height": 64}, backend="hybrid",
                        implementation="native", workers=2)  # fmt: skip
    job = wait_for_status(heat, FINAL)
    assert (job.status, job.verified) == ("succeeded", True), job.error
    assert job.progress["done"] == job.progress["total"] == 2 * 10  # each thread, ten times over the run
    assert set(job.progress["workers"]) == {"0", "1"}
    job = wait_for_status(mandelbrot, FINAL)
    assert (job.status, job.verified) == ("succeeded", True), job.error
    layout = "1 MPI rank × 2 OpenMP threads" if threads_per_rank(2) == 2 else "2 MPI ranks × 1 OpenMP thread"
    assert f"hybrid: {layout}" in job.log  # the worker host's cores decide (this machine: 2)
    assert job.progress["done"] == job.progress["total"] == 4


def test_subprocesses_mandelbrot_saves_a_png_artifact(celery_worker, alice_api, wait_for_status):
    job_id = submit(
        alice_api, workload="mandelbrot", params={"width": 96, "height": 64}, backend="subprocesses", workers=2
    )
    job = wait_for_status(job_id, FINAL)
    assert job.status == "succeeded", job.error
    artifact = alice_api.get(f"/api/v1/jobs/{job_id}/").json()["artifacts"][0]
    assert artifact["name"] == "mandelbrot.png"
    download = alice_api.get(artifact["url"])
    assert download.status_code == 200 and download["Content-Type"] == "image/png"
    assert b"".join(download.streaming_content).startswith(b"\x89PNG")


def test_cancel_of_a_running_job_kills_its_processes(celery_worker, alice_api, wait_for_status):
    job_id = submit(alice_api, workload="fib", params={"ns": [40, 40, 40]}, backend="processes", workers=2)
    wait_for_status(job_id, ("running",))
    deadline = time.monotonic() + 20
    worker = psutil.Process(celery_worker.pid)
    while not any("kernels.isolated" in " ".join(p.cmdline()) for p in run_processes(worker.children(recursive=True))):
        assert time.monotonic() < deadline, "the engine process never started"
        time.sleep(0.05)
    assert alice_api.post(f"/api/v1/jobs/{job_id}/cancel/").status_code == 200
    job = wait_for_status(job_id, FINAL, timeout=10)
    assert job.status == "cancelled"
    assert run_processes_left(worker.pid) == []


def test_a_redelivered_message_never_runs_a_job_twice(celery_worker, alice_api, wait_for_status):
    from webapp.jobs.services import job_enqueue

    job_id = submit(alice_api, workload="fib", params={"ns": [20]})
    first = wait_for_status(job_id, FINAL)
    job_enqueue(first)  # what the broker does if an ack is lost
    # The worker runs one job at a time: keep it busy so the next job is still queued when cancelled.
    blocker_id = submit(alice_api, workload="fib", params={"ns": [40]})
    wait_for_status(blocker_id, ("running",))
    cancelled_id = submit(alice_api, workload="fib", params={"ns": [20]})
    assert alice_api.post(f"/api/v1/jobs/{cancelled_id}/cancel/").json()["status"] == "cancelled"
    job_enqueue(Job.objects.get(pk=cancelled_id))
    alice_api.post(f"/api/v1/jobs/{blocker_id}/cancel/")
    marker_id = submit(alice_api, workload="fib", params={"ns": [21]})  # the worker takes messages in order
    wait_for_status(marker_id, FINAL)
    again = Job.objects.get(pk=job_id)
    assert (again.started_at, again.finished_at) == (first.started_at, first.finished_at)
    cancelled = Job.objects.get(pk=cancelled_id)
    assert cancelled.status == "cancelled" and cancelled.started_at is None
