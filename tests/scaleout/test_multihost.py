"""Paralab across hosts, with hosts made of network namespaces (see conftest.py for the layout).

A job submitted through the API runs on the Celery worker of another host, which reaches the
broker over its own address; its progress comes back to a browser's WebSocket through daphne.
The seed's MPI ring, started as a Paralab job, spreads its ranks over two hosts.
"""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

import pytest
from django.test import Client
from websockets.sync.client import connect

from webapp.accounts.services import token_create
from webapp.jobs.models import Job

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

FINAL = ("succeeded", "failed", "cancelled")
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1 never goes through a proxy


def api(base: str, token: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with OPENER.open(request, timeout=30) as response:
        return json.loads(response.read())


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


def events_until_final(socket, timeout: float = 120) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events.append(json.loads(socket.recv(timeout=deadline - time.monotonic())))
        if events[-1].get("status") in FINAL:
            return events
    raise AssertionError(f"no final event; last: {events[-3:]}")


@pytest.fixture
def alice(team_setup):
    _, token = token_create(user=team_setup["alice"], name="scaleout")
    return {"user": team_setup["alice"], "token": token}


def test_job_runs_on_the_worker_of_another_host_and_streams_progress_to_a_websocket(cluster, alice):
    web = cluster["web"]
    ws_url = web.replace("http://", "ws://")
    headers = {"Cookie": session_cookie(alice["user"])}
    # Long enough (about 2 s) that the socket, opened right after the submit, sees it progress.
    body = {"workload": "fib", "params": {"ns": [34] * 6}, "backend": "processes", "workers": 2}
    job_id = api(web, alice["token"], "/api/v1/jobs/", body)["id"]
    with connect(f"{ws_url}/ws/jobs/{job_id}/", additional_headers=headers, origin=web, proxy=None) as socket:
        events = events_until_final(socket)

    final = events[-1]
    assert final["status"] == "succeeded", final.get("error")
    assert final["worker_host"] == "node-a"
    assert final["result"] == [5702887] * 6 and final["progress"]["done"] == 6
    progress = [e["progress"].get("done", 0) for e in events if e["status"] == "running"]
    assert any(0 < done < 6 for done in progress), f"no progress event while running: {progress}"

    job = Job.objects.get(pk=job_id)
    assert job.worker_host == "node-a" and job.provenance["host"] == "node-a"
    node = cluster["nodes"]["node-a"]
    print(f"\njob {job_id} ran on worker host {job.worker_host!r} ({node.namespace}, {node.address}, broker "
          f"{cluster['redis']}); {len(progress)} running events over the WebSocket")  # fmt: skip

    workers = api(web, alice["token"], "/api/v1/workers/")
    assert workers["status"] == "online"
    [worker] = workers["workers"]
    assert worker["name"] == "scaleout@node-a" and worker["host"] == "node-a"
    assert worker["mpi"] is True and worker["mpi_hosts"] == [n.address for n in cluster["nodes"].values()]


def test_mpi_ring_job_spreads_its_ranks_over_two_hosts(cluster, alice):
    web = cluster["web"]
    body = {"workload": "mpi_ring", "params": {"laps": 2}, "backend": "mpi", "workers": 4}
    job_id = api(web, alice["token"], "/api/v1/jobs/", body)["id"]
    deadline = time.monotonic() + 120
    while (job := api(web, alice["token"], f"/api/v1/jobs/{job_id}/"))["status"] not in FINAL:
        assert time.monotonic() < deadline, f"job {job_id} still {job['status']}"
        time.sleep(0.2)

    assert job["status"] == "succeeded", job.get("error")
    result = job["result"]
    assert result["message"] == "P0P1P2P3P0P1P2P3" and result["ranks"] == 4 and job["verified"] is True
    assert sorted(set(result["hosts"])) == ["node-a", "node-b"]
    assert job["worker_host"] == "node-a"
    lines = Job.objects.get(pk=job_id).log
    assert any("on node node-b" in line for line in lines) and any("on node node-a" in line for line in lines)
    print(f"\nMPI ring job {job_id}: ranks on hosts {result['hosts']} (mpiexec on {job['worker_host']})")
