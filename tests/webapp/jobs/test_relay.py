"""The live relay (webapp/jobs/relay.py) on a real daphne and a Redis of the test's own, restarted (empty,
as Redis keeps nothing on disk here): the sockets open across the restart stay open and hear the job's
next events, and a socket opened after it connects at once — through the worker's own publish, in a
process of its own. Before the channel layers retried a failed connection, the first command on each
pooled connection failed after a restart: that socket's connect raised, and the event was lost."""

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import pytest
from websockets.sync.client import connect

from tests.services import ServiceProcess, free_port, service_env, start_daphne
from tests.webapp.jobs.sockets import OwnRedis, browser_headers, event_subscribers, quiet_running_job
from webapp.jobs.events import job_group
from webapp.jobs.models import Job

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def publish_from_worker(env: dict[str, str], job_id: int, seq: int) -> None:
    """events.publish as the worker calls it, in a process of its own with the given environment."""
    script = (
        "import django; django.setup(); from webapp.jobs.events import job_group, publish;"
        f"publish(job_group({job_id}), {{'kind': 'job', 'id': {job_id}, 'seq': {seq}, 'status': 'running'}})"
    )
    subprocess.run([sys.executable, "-c", script], env=service_env(**env), check=True, timeout=60)


def next_seq(ws) -> int:
    return json.loads(ws.recv(timeout=10))["seq"]


@contextmanager
def watching_on_own_redis(team_setup, name: str) -> Iterator[tuple[Job, OwnRedis, ServiceProcess, str, dict]]:
    """A quiet job, daphne on a Redis of the test's own, and the job's socket URL and alice's headers for it."""
    job = quiet_running_job(team_setup["team_a"], team_setup["alice"])
    redis, port = OwnRedis(), free_port()
    web = start_daphne(name, port, **redis.env)
    try:
        yield job, redis, web, f"ws://127.0.0.1:{port}/ws/jobs/{job.pk}/", browser_headers(team_setup["alice"], port)
    finally:
        web.stop()
        redis.server.stop()


def test_watchers_hear_a_jobs_events_again_after_redis_restarts(team_setup):
    with watching_on_own_redis(team_setup, "relay-restart-web") as (job, redis, _, url, headers):
        env = redis.env
        with connect(url, additional_headers=headers) as before, connect(url, additional_headers=headers) as other:
            assert next_seq(before) == next_seq(other) == 0  # the state
            publish_from_worker(env, job.pk, 1)
            assert next_seq(before) == next_seq(other) == 1

            redis.restart()  # within the channel layers' retries (webapp/settings.py)
            # The new Redis is empty: daphne's pub/sub connection comes back and subscribes again, within
            # a second or two (its reader waits a second after an error).
            deadline = time.monotonic() + 30
            while not event_subscribers(job_group(job.pk), env["REDIS_URL"]):
                assert time.monotonic() < deadline, "daphne never subscribed again to the job's events"
                time.sleep(0.1)

            publish_from_worker(env, job.pk, 2)
            assert next_seq(before) == next_seq(other) == 2  # the sockets open across the restart stayed open
            with connect(url, additional_headers=headers) as after:
                assert next_seq(after) == 0  # the state: a socket opened after the restart connects at once
                publish_from_worker(env, job.pk, 3)
                assert next_seq(before) == next_seq(other) == next_seq(after) == 3


def test_one_publish_reaches_the_watchers_on_every_web_process(team_setup):
    # More web processes behind the proxy (docs/deploy.md): each subscribes once for its own sockets.
    job = quiet_running_job(team_setup["team_a"], team_setup["alice"])
    servers = []
    try:
        for name in ("relay-web-a", "relay-web-b"):
            port = free_port()
            servers.append((start_daphne(name, port), port))
        with ExitStack() as stack:
            sockets = [stack.enter_context(connect(f"ws://127.0.0.1:{port}/ws/jobs/{job.pk}/",
                                                   additional_headers=browser_headers(team_setup["alice"], port)))
                       for _, port in servers for _ in range(3)]  # fmt: skip
            assert [next_seq(ws) for ws in sockets] == [0] * 6  # the state
            assert event_subscribers(job_group(job.pk)) == 2
            publish_from_worker({}, job.pk, 1)
            assert [next_seq(ws) for ws in sockets] == [1] * 6
    finally:
        for server, _ in servers:
            server.stop()


def test_a_redis_outage_is_said_in_one_line_a_minute_not_a_traceback_a_second(team_setup):
    # channels_redis's pub/sub reader retries every second while Redis is down and logged each failure with
    # its traceback (~30 lines a second in daphne's log), and daphne one more for each socket the outage closed.
    with watching_on_own_redis(team_setup, "relay-outage-web") as (_, redis, web, url, headers):
        with connect(url, additional_headers=headers) as ws:
            assert next_seq(ws) == 0
            redis.restart(down_for=5)  # five of the reader's retries
        log = web.log_path.read_text()
    said = [line for line in log.splitlines() if "Redis unreachable" in line]
    assert "Traceback" not in log, log[-3000:]
    # The relay's reader (which retried every second), and daphne if the socket was closed meanwhile: once each.
    assert [line.split(":")[0] for line in said if "receive task" in line] == ["Unexpected exception in receive task"]
    assert len(said) - 1 == sum("Exception inside application" in line for line in said) <= 1, said
    assert all("Connect call failed" in line and "said at most once a minute" in line for line in said), said
