"""The workers page, /api/v1/workers/ and the submit form's warning, against a real worker and Redis.

The worker serves the cpu and mpi queues only; its status comes from Celery's inspect replies
(queues, pool, active tasks) and Paralab's own inspect command (cores, MPI, clock).
"""

from __future__ import annotations

import os
import socket
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from webapp.workers.selectors import workers_online

pytestmark = pytest.mark.django_db(transaction=True)

FINAL = ("succeeded", "failed", "cancelled")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def only_worker(body: dict, name: str) -> dict:
    assert body["status"] == "online", body
    [worker] = [w for w in body["workers"] if w["name"] == name]
    return worker


def test_api_lists_the_online_worker_with_queues_pool_cores_mpi_and_heartbeat(
    cpu_mpi_worker, team_setup, api_client_for
):
    body = api_client_for(team_setup["alice"]).get("/api/v1/workers/").json()
    worker = only_worker(body, cpu_mpi_worker)
    assert worker["host"] == socket.gethostname()
    assert worker["capabilities"] == ["cpu", "mpi"]
    assert worker["queues"] == [f"{os.environ['PARALAB_QUEUE']}-w.cpu", f"{os.environ['PARALAB_QUEUE']}-w.mpi"]
    assert worker["pool"] == "threads" and worker["concurrency"] == 1
    assert worker["cores"] == len(os.sched_getaffinity(0))
    assert worker["mpi"] is True and worker["mpi_hosts"] == []
    assert worker["running"] == 0 and worker["jobs"] == []
    heartbeat = datetime.fromisoformat(worker["heartbeat"].replace("Z", "+00:00"))
    assert abs(datetime.now(UTC) - heartbeat) < timedelta(seconds=10)


def test_the_suites_other_workers_are_not_listed(cpu_mpi_worker, celery_worker, team_setup, api_client_for):
    """The suite's own worker serves every queue of another prefix: another deployment, not ours."""
    body = api_client_for(team_setup["alice"]).get("/api/v1/workers/").json()
    assert [w["name"] for w in body["workers"]] == [cpu_mpi_worker]


def test_current_job_is_shown_to_its_team_and_only_counted_for_others(
    cpu_mpi_worker, team_setup, api_client_for, wait_for_status
):
    alice = api_client_for(team_setup["alice"])
    body = {"workload": "fib", "params": {"ns": [40, 40, 40]}, "backend": "processes", "workers": 2}
    job_id = alice.post("/api/v1/jobs/", body, format="json").json()["id"]
    try:
        wait_for_status(job_id, ("running",))
        mine = only_worker(alice.get("/api/v1/workers/").json(), cpu_mpi_worker)
        assert mine["running"] == 1 and mine["jobs"] == [job_id]
        theirs = only_worker(api_client_for(team_setup["mallory"]).get("/api/v1/workers/").json(), cpu_mpi_worker)
        assert theirs["running"] == 1 and theirs["jobs"] == []
    finally:
        alice.post(f"/api/v1/jobs/{job_id}/cancel/")
        assert wait_for_status(job_id, FINAL, timeout=20).status == "cancelled"


def test_the_answer_is_cached_for_a_couple_of_seconds(cpu_mpi_worker):
    first = workers_online()
    assert workers_online().checked_at == first.checked_at
    time.sleep(2.2)
    assert workers_online().checked_at > first.checked_at


def test_workers_page_lists_the_worker_and_the_queues_nobody_serves(cpu_mpi_worker, client_for, team_setup):
    response = client_for(team_setup["vera"]).get(reverse("worker-list"))
    assert response.status_code == 200
    page = response.content.decode()
    assert f"<code>{cpu_mpi_worker}</code>" in page and "cpu, mpi" in page and "threads × 1" in page
    unserved = [row for row in page.split("<tr") if 'class="unserved"' in row]
    assert len(unserved) == 2
    assert "-w.native</code>" in unserved[0] and "-w.study</code>" in unserved[1]


def test_submit_form_warns_about_the_queue_no_worker_serves(cpu_mpi_worker, client_for, team_setup):
    page = client_for(team_setup["alice"]).get(reverse("job-submit") + "?workload=fib").content.decode()
    warnings = [line for line in page.splitlines() if "worker-warning" in line]
    assert len(warnings) == 1, warnings
    assert "No online worker serves the native queue (the native implementation)" in warnings[0]
    assert f"-Q {os.environ['PARALAB_QUEUE']}-w.native" in warnings[0]


def test_with_no_worker_every_queue_a_workload_needs_is_warned_about(client_for, team_setup, settings):
    settings.CELERY_TASK_DEFAULT_QUEUE = os.environ["PARALAB_QUEUE"] + "-nobody"
    page = client_for(team_setup["alice"]).get(reverse("job-submit") + "?workload=mpi_ring").content.decode()
    warnings = [line for line in page.splitlines() if "worker-warning" in line]
    assert len(warnings) == 1 and "No online worker serves the mpi queue (the mpi and hybrid backends)" in warnings[0]
    listing = client_for(team_setup["alice"]).get(reverse("worker-list")).content.decode()
    assert "No worker is online" in listing


def test_a_broker_that_does_not_answer_gives_unknown_not_an_error(client_for, api_client_for, team_setup, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{closed_port()}/0"
    body = api_client_for(team_setup["alice"]).get("/api/v1/workers/")
    assert body.status_code == 200
    assert body.json()["status"] == "unknown" and body.json()["workers"] == []
    assert "Connection refused" in body.json()["error"]
    client = client_for(team_setup["alice"])
    listing = client.get(reverse("worker-list"))
    assert listing.status_code == 200 and "Worker status is unknown" in listing.content.decode()
    submit = client.get(reverse("job-submit"))
    assert submit.status_code == 200 and "Worker status is unknown" in submit.content.decode()


def test_workers_need_a_login(client):
    assert client.get("/api/v1/workers/").status_code in (401, 403)
    response = client.get(reverse("worker-list"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
