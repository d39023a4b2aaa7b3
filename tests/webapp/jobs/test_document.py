"""One job document (webapp/jobs/document.py): the API's job and its list, the live events, the exports and a
webhook read each field of a job the same way, dates included (ISO 8601 in UTC with Z)."""

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from channels.db import database_sync_to_async

from tests.webapp.jobs.test_consumers import connect
from webapp.jobs.document import API_FIELDS, API_LIST_FIELDS, READERS, job_document
from webapp.jobs.models import Job, Status
from webapp.notifications.services import job_payload

pytestmark = pytest.mark.django_db

# Microseconds and a zone other than UTC: the document must give them back exactly, in UTC.
STARTED = datetime.fromisoformat("2026-11-29T20:10:05.123456+02:00")
FINISHED = datetime.fromisoformat("2026-11-29T20:10:07.5+02:00")


def finish(team_setup) -> Job:
    """A succeeded job with every field of the API's job set (a rerun of another, with a time limit). Rows made
    directly: a submission would send a message that a worker of another test could take."""
    alice, team = team_setup["alice"], team_setup["team_a"]
    common = {"team": team, "submitted_by": alice, "workload": "fib", "params": {"ns": [20, 21]}}
    first = Job.objects.create(**common, backend="sequential", implementation="python")
    job = Job.objects.create(
        **common, backend="processes", implementation="python", workers=2, status=Status.SUCCEEDED,
        worker_host="node-1", provenance={"host": "node-1", "cpu_model": "Test CPU"}, result=[6765, 10946],
        verified=True, verification="all 2 values equal F(n)", wall_time=0.25, cpu_time=0.4,
        measurement={"quiet": True}, balance={"imbalance": 1.1}, log=["one", "two"], started_at=STARTED,
        finished_at=FINISHED, progress={"done": 2, "total": 2, "seq": 7}, rerun_of=first, time_limit=60, attempts=1,
        heartbeat_at=FINISHED, cancel_requested_at=FINISHED,
    )  # fmt: skip
    return Job.objects.select_related("team", "submitted_by").get(pk=job.pk)


@pytest.fixture
def alice_api(team_setup, api_client_for):
    return api_client_for(team_setup["alice"])


def test_the_api_job_is_the_job_document_and_its_links(alice_api, team_setup, make_artifact):
    job = finish(team_setup)
    make_artifact(job)
    body = alice_api.get(f"/api/v1/jobs/{job.pk}/").json()

    assert list(body) == list(API_FIELDS)
    shared = [name for name in API_FIELDS if name in READERS]
    assert {name: body[name] for name in shared} == job_document(job, shared)
    assert body["rerun_of"] == job.rerun_of_id and body["time_limit"] == 60 and body["log"] == ["one", "two"]
    assert body["started_at"] == "2026-11-29T18:10:05.123456Z" and body["finished_at"] == "2026-11-29T18:10:07.500000Z"
    # The API's own: links with the host, the progress with its (here no) spans, the artifacts' links.
    assert body["url"] == f"http://testserver/api/v1/jobs/{job.pk}/"
    assert body["progress"] == {"done": 2, "total": 2, "seq": 7, "spans": []}
    assert [(a["name"], a["url"]) for a in body["artifacts"]] == [
        ("mandelbrot.png", f"http://testserver/api/v1/jobs/{job.pk}/artifacts/mandelbrot.png/")
    ]
    assert body["queue"] is None  # a finished job waits in no queue


def test_the_api_list_is_the_job_document_with_progress_counts(alice_api, team_setup):
    job = finish(team_setup)
    [row] = [row for row in alice_api.get("/api/v1/jobs/").json()["results"] if row["id"] == job.pk]

    assert list(row) == list(API_LIST_FIELDS)
    shared = [name for name in API_LIST_FIELDS if name in READERS]
    assert {name: row[name] for name in shared} == job_document(job, shared)
    assert row["progress"] == {"done": 2, "total": 2}


def test_a_date_reads_the_same_in_the_api_the_exports_and_a_webhook(alice_api, team_setup):
    job = finish(team_setup)
    detail = alice_api.get(f"/api/v1/jobs/{job.pk}/").json()
    [listed] = [row for row in alice_api.get("/api/v1/jobs/").json()["results"] if row["id"] == job.pk]
    [exported] = [row for row in alice_api.get("/api/v1/exports/jobs.json").json() if row["id"] == job.pk]
    response = alice_api.get("/api/v1/exports/jobs.csv")
    rows = csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode()))
    [cells] = [row for row in rows if row["id"] == str(job.pk)]
    hook = job_payload(job)["job"]

    for name in ("queued_at", "started_at", "finished_at"):
        text = detail[name]
        assert text.endswith("Z") and datetime.fromisoformat(text) == getattr(job, name), name
        assert listed[name] == exported[name] == cells[name] == hook[name] == text, name
    assert datetime.fromisoformat(detail["started_at"]) == STARTED.astimezone(UTC)


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_live_event_s_dates_are_the_api_s(team_setup, api_client_for):
    job = await database_sync_to_async(finish)(team_setup)
    api = await database_sync_to_async(api_client_for)(team_setup["alice"])
    detail = (await database_sync_to_async(api.get)(f"/api/v1/jobs/{job.pk}/")).json()

    page, connected = await connect(f"/ws/jobs/{job.pk}/", team_setup["alice"])
    assert connected
    state = await page.receive_json_from(timeout=5)
    feed, connected = await connect("/ws/teams/team-a/", team_setup["alice"])
    assert connected
    summaries = [await feed.receive_json_from(timeout=5) for _ in range(2)]  # the backlog: both of the team's jobs
    await page.disconnect()
    await feed.disconnect()

    [summary] = [event for event in summaries if event["id"] == job.pk]
    assert state["kind"] == "job" and summary["kind"] == "summary"
    assert (state["started_at"], state["finished_at"]) == (detail["started_at"], detail["finished_at"])
    assert summary["queued_at"] == detail["queued_at"]
    assert json.dumps(state["started_at"]).endswith('Z"')
