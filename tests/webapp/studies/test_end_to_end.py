"""A tiny study end to end on a real Celery worker: created through the API, its jobs run one at a time in
the order queued, and the speedup table and the exports agree with the jobs' recorded timings."""

from __future__ import annotations

import csv
import io
import time

import pytest

from webapp.jobs.models import Job

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

TINY = {"workload": "fib", "params": {"ns": [22, 21]}, "backends": ["processes"], "workers": [1, 2], "repetitions": 1}


def wait_for_study(client, study_id: int, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        doc = client.get(f"/api/v1/studies/{study_id}/").json()
        if doc["progress"]["finished"] == doc["progress"]["total"]:
            return doc
        time.sleep(0.2)
    raise AssertionError(f"study {study_id} did not finish in {timeout} s: {doc['progress']}")


def test_a_tiny_study_runs_on_the_real_worker_and_its_table_matches_the_jobs(team_setup, celery_worker, api_client_for):
    alice = api_client_for(team_setup["alice"])
    created = alice.post("/api/v1/studies/", TINY, format="json")
    assert created.status_code == 201, created.content
    study_id = created.json()["id"]
    doc = wait_for_study(alice, study_id)
    assert doc["status"] == "succeeded", doc["runs"]

    jobs = list(Job.objects.filter(study_run__study_id=study_id).order_by("study_run__id"))
    assert [(j.backend, j.workers) for j in jobs] == [("sequential", 1), ("processes", 1), ("processes", 2)]
    assert all(j.verified is True and j.wall_time > 0 and j.provenance.get("cpu_model") for j in jobs)
    # One at a time, in the order queued: each job started after the one before it had finished.
    for before, after in zip(jobs, jobs[1:], strict=False):
        assert after.started_at >= before.finished_at, (before.pk, after.pk)

    baseline = jobs[0].wall_time
    series = {s["label"]: s for s in doc["series"]}
    assert series["sequential × python"]["baseline"] == baseline
    points = {p["workers"]: p for p in series["processes × python"]["points"]}
    for job in jobs[1:]:
        point = points[job.workers]
        assert point["median"] == job.wall_time and point["runs"] == 1
        assert point["speedup"] == pytest.approx(baseline / job.wall_time)
        assert point["efficiency"] == pytest.approx(baseline / job.wall_time / job.workers)
    assert points[2]["karp_flatt"] == pytest.approx((jobs[2].wall_time / baseline - 0.5) / 0.5)
    assert series["processes × python"]["amdahl"] is None  # two worker counts: a two-parameter fit says nothing

    response = alice.get(f"/api/v1/studies/{study_id}/export.csv?table=jobs")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(int(r["job"]), float(r["wall_time"])) for r in rows] == [(j.pk, j.wall_time) for j in jobs]
    assert [float(r["speedup"]) for r in rows] == [pytest.approx(baseline / j.wall_time) for j in jobs]
    exported = alice.get(f"/api/v1/studies/{study_id}/export.json").json()
    assert exported["series"] == doc["series"]
    assert exported["provenance"]["host"] == [jobs[0].provenance["host"]]
