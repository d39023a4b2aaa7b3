"""The live channels over a real Redis channel layer: access, ordering, final state, late joiners."""

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import timezone

from tests.webapp.jobs.sockets import leave
from webapp.asgi import application
from webapp.jobs.models import Job

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

ORIGIN = (b"origin", b"http://localhost")


def session_cookie(user) -> tuple[bytes, bytes]:
    client = Client()
    client.force_login(user)
    return (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())


async def connect(path: str, user=None, origin=ORIGIN):
    headers = [origin]
    if user is not None:
        headers.append(await database_sync_to_async(session_cookie)(user))
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    return communicator, connected


async def close_code(communicator) -> int:
    message = await communicator.receive_output(timeout=5)
    assert message["type"] == "websocket.close"
    # As a browser does after a close: the consumer leaves its groups now, not when the test's event loop
    # is torn down (cancelling a consumer mid-way through a Redis call there hung the teardown).
    await leave(communicator)
    return message["code"]


@database_sync_to_async
def make_job(team, user, **fields):
    # Marked as sent, so a suite worker's sweeper leaves it queued (it sends a queued job never sent after 10 s).
    fields = {"workload": "fib", "params": {"ns": [5]}, "backend": "sequential", "implementation": "python",
              "dispatched_at": timezone.now(), **fields}  # fmt: skip
    return Job.objects.create(team=team, submitted_by=user, **fields)


async def test_anonymous_socket_is_closed_with_4401(team_setup):
    job = await make_job(team_setup["team_a"], team_setup["alice"])
    communicator, connected = await connect(f"/ws/jobs/{job.pk}/")
    assert connected
    assert await close_code(communicator) == 4401


async def test_another_teams_job_and_feed_are_closed_with_4404(team_setup):
    job = await make_job(team_setup["team_a"], team_setup["alice"])
    for path in (f"/ws/jobs/{job.pk}/", "/ws/teams/team-a/", "/ws/jobs/999999/"):
        communicator, connected = await connect(path, team_setup["mallory"])
        assert connected
        assert await close_code(communicator) == 4404


async def test_foreign_origin_is_refused(team_setup):
    job = await make_job(team_setup["team_a"], team_setup["alice"])
    communicator, connected = await connect(
        f"/ws/jobs/{job.pk}/", team_setup["alice"], (b"origin", b"http://evil.example")
    )
    # Channels' denier is a consumer too, listening on the channel layer after its refusal: end it now, as a
    # browser's close does, not by cancelling it mid-Redis-read at the loop's teardown (that hung CI 300 s).
    await leave(communicator)
    assert not connected


async def test_member_gets_the_current_state_first(team_setup):
    job = await make_job(team_setup["team_a"], team_setup["alice"])
    communicator, connected = await connect(f"/ws/jobs/{job.pk}/", team_setup["vera"])
    assert connected
    first = await communicator.receive_json_from(timeout=5)
    assert first["kind"] == "job" and first["id"] == job.pk and first["status"] == "queued"
    feed, connected = await connect("/ws/teams/team-a/", team_setup["vera"])
    assert connected
    backlog = await feed.receive_json_from(timeout=5)
    assert backlog["kind"] == "summary" and backlog["id"] == job.pk
    await communicator.disconnect()
    await feed.disconnect()


async def collect_until_final(communicator, timeout=60.0):
    events = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        event = await communicator.receive_json_from(timeout=deadline - loop.time())
        events.append(event)
        if event.get("status") in ("succeeded", "failed", "cancelled"):
            return events
    raise AssertionError(f"no final event; got {events[-3:]}")


def apply_events(events: list[dict]) -> list[dict]:
    """What job_live.js does: a state with spans replaces the page's spans, a delta appends to them."""
    spans: list[dict] = []
    for event in events:
        if event["kind"] == "job" and "spans" in event["progress"]:
            spans = list(event["progress"]["spans"])
        elif event["kind"] == "delta":
            assert event["spans_from"] <= len(spans), f"a gap: {event['spans_from']} after {len(spans)} spans"
            spans += event["spans"][len(spans) - event["spans_from"] :]
    return spans


@pytest.mark.slow
async def test_events_arrive_in_order_and_the_final_state_is_delivered(celery_worker, team_setup, api_client_for):
    client = await database_sync_to_async(api_client_for)(team_setup["alice"])
    feed, _ = await connect("/ws/teams/team-a/", team_setup["bob"])
    # Long enough (~0.5 s of work) that the job socket below opens before the run ends, even on a warm engine.
    body = {"workload": "fib", "params": {"ns": [32, 31, 30, 29, 28, 27, 26, 25]}, "backend": "processes", "workers": 2}
    response = await database_sync_to_async(client.post)("/api/v1/jobs/", body, format="json")
    job_id = response.json()["id"]
    communicator, _ = await connect(f"/ws/jobs/{job_id}/", team_setup["bob"])
    events = await collect_until_final(communicator)
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs)
    final = events[-1]
    assert final["status"] == "succeeded" and final["result"][0] == 2178309 and final["verified"] is True
    assert final["progress"]["done"] == final["progress"]["total"] == 8
    # The first state and the deltas after it add up to every unit's span, each exactly once.
    spans = apply_events(events)
    assert sorted(span["unit"] for span in spans) == list(range(8))
    assert {span["worker"] for span in spans} == {0, 1}
    assert "spans" not in final["progress"] and final["progress"]["spans_total"] == 8

    feed_events = await collect_until_final(feed)
    mine = [e for e in feed_events if e["id"] == job_id]
    assert mine[-1]["status"] == "succeeded" and mine[-1]["done"] == 8

    late, _ = await connect(f"/ws/jobs/{job_id}/", team_setup["vera"])
    replay = await late.receive_json_from(timeout=5)
    assert replay["status"] == "succeeded" and replay["progress"]["spans"] == spans
    for c in (communicator, feed, late):
        await c.disconnect()


@pytest.mark.slow
async def test_mpi_ring_messages_reach_the_live_log(celery_worker, team_setup, api_client_for):
    client = await database_sync_to_async(api_client_for)(team_setup["alice"])
    body = {"workload": "mpi_ring", "backend": "mpi", "workers": 2}
    job_id = (await database_sync_to_async(client.post)("/api/v1/jobs/", body, format="json")).json()["id"]
    communicator, _ = await connect(f"/ws/jobs/{job_id}/", team_setup["alice"])
    events = await collect_until_final(communicator)
    assert any('received message "P0P1"' in line for line in events[-1]["log"])
    await communicator.disconnect()
