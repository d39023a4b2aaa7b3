"""An idle WebSocket on a real ASGI server stays open and gets the next event (issue 10, item 1).

redis-py 8 gives every client a 5 s socket timeout by default, and the channel layer's receive
blocks in BZPOPMIN for 5 s: without a longer timeout of its own, every socket that sees no event
for ~5 s is torn down with 1011.
"""

import json
import time

import pytest
from websockets.sync.client import connect

from tests.services import free_port, start_daphne
from tests.webapp.jobs.sockets import browser_headers, event_subscribers, quiet_running_job
from webapp.jobs.events import job_group, publish
from webapp.jobs.models import Job

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

IDLE = 15  # seconds: three times the channel layer's blocking wait


def test_an_idle_socket_stays_open_and_receives_the_next_event(team_setup):
    job = quiet_running_job(team_setup["team_a"], team_setup["alice"])
    port = free_port()
    web = start_daphne("idle-socket-web", port)
    headers = browser_headers(team_setup["alice"], port)
    try:
        with connect(f"ws://127.0.0.1:{port}/ws/jobs/{job.pk}/", additional_headers=headers) as ws:
            assert json.loads(ws.recv(timeout=10))["id"] == job.pk  # the snapshot
            time.sleep(IDLE)
            publish(job_group(job.pk), {"kind": "job", "id": job.pk, "seq": 1, "status": "running"})
            event = json.loads(ws.recv(timeout=10))  # a closed socket raises ConnectionClosedError here
            assert (event["seq"], event["status"]) == (1, "running")
            assert ws.close_code is None
    finally:
        web.stop()
    assert "TimeoutError" not in web.log_path.read_text(errors="replace")


def test_hundreds_of_viewers_share_one_group_member_hear_each_event_and_all_leave(team_setup):
    # One subscriber to the job's events per web process (webapp/jobs/relay.py), however many sockets watch:
    # the worker's publish is one PUBLISH. Leaving, each socket's group_discard of its user's and session's
    # groups (the access notices, on the default layer) takes a Redis connection from daphne's pool at once.
    import asyncio

    import redis
    from django.conf import settings
    from websockets.asyncio.client import connect as connect_async

    from webapp.accounts.revocation import user_group

    viewers = 150
    alice = team_setup["alice"]
    job = Job.objects.create(team=team_setup["team_a"], submitted_by=alice, workload="fib", params={"ns": [5]},
                             backend="sequential", status="succeeded")  # fmt: skip
    port = free_port()
    web = start_daphne("many-viewers-web", port)
    headers = browser_headers(alice, port)
    user_key = f"{settings.CHANNEL_LAYERS['default']['CONFIG']['prefix']}:group:{user_group(alice.pk)}"
    store = redis.Redis.from_url(settings.REDIS_URL)

    def subscribers() -> int:
        return event_subscribers(job_group(job.pk))

    async def crowd() -> tuple[int, int, list[int]]:
        sockets = [await connect_async(f"ws://127.0.0.1:{port}/ws/jobs/{job.pk}/", additional_headers=headers)
                   for _ in range(viewers)]  # fmt: skip
        for ws in sockets:
            await ws.recv()  # the state: the socket is in the group
        members = (subscribers(), store.zcard(user_key))
        await asyncio.to_thread(publish, job_group(job.pk), {"kind": "job", "id": job.pk, "seq": 7, "status": "x"})
        heard = [json.loads(await asyncio.wait_for(ws.recv(), 10))["seq"] for ws in sockets]
        await asyncio.gather(*(ws.close() for ws in sockets))
        return *members, heard

    try:
        job_members, user_members, heard = asyncio.run(crowd())
        assert (job_members, user_members) == (1, viewers)
        assert heard == [7] * viewers
        deadline = time.monotonic() + 20
        while (subscribers() or store.zcard(user_key)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert (subscribers(), store.zcard(user_key)) == (0, 0)
    finally:
        web.stop()
        store.close()
    assert "MaxConnectionsError" not in web.log_path.read_text(errors="replace")
