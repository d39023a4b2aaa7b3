"""Broker outage: a Redis of the test's own is stopped mid-job and started again (empty, as Redis
keeps nothing on disk here). Submissions during the outage get a clear 503; the service recovers
without a restart; no job that was accepted is lost."""

import json
import urllib.error
import urllib.request
import uuid

import pytest

from tests.services import free_port, start_daphne, start_redis, start_worker
from webapp.jobs.models import Job

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

FINAL = ("succeeded", "failed", "cancelled")


def post(url: str, token: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_service_rides_out_a_broker_restart(team_setup, wait_for_status):
    from webapp.accounts.services import token_create

    _, token = token_create(user=team_setup["alice"], name="outage")
    redis_port, web_port = free_port(), free_port()
    env = {"REDIS_URL": f"redis://127.0.0.1:{redis_port}/0", "PARALAB_QUEUE": f"outage-{uuid.uuid4().hex[:6]}",
           "PARALAB_REDISPATCH_AFTER": "5"}  # fmt: skip
    redis = start_redis(redis_port)
    web = start_daphne("outage-web", web_port, **env)
    worker = start_worker("outage-worker", **env)
    url = f"http://127.0.0.1:{web_port}/api/v1/jobs/"
    try:
        status, running = post(
            url, token, {"workload": "fib", "params": {"ns": [35, 35]}, "backend": "processes", "workers": 2}
        )
        assert status == 201
        wait_for_status(running["id"], ("running",))
        status, waiting = post(url, token, {"workload": "fib", "params": {"ns": [25]}})  # queued behind it
        assert status == 201

        redis.stop()
        before = Job.objects.count()
        status, body = post(url, token, {"workload": "fib", "params": {"ns": [20]}})
        assert status == 503 and "not answering" in body["detail"]
        assert Job.objects.count() == before

        redis = start_redis(redis_port)  # empty: the queued job's message is gone
        assert wait_for_status(running["id"], FINAL, timeout=60).status == "succeeded"
        assert wait_for_status(waiting["id"], FINAL, timeout=60).status == "succeeded"
        status, after = post(url, token, {"workload": "fib", "params": {"ns": [21]}})
        assert status == 201
        assert wait_for_status(after["id"], FINAL, timeout=60).status == "succeeded"
        assert all(job.attempts == 1 for job in Job.objects.all())
    finally:
        for service in (worker, web, redis):
            service.stop()
