"""Load: 50 concurrent submissions to a real ASGI server create exactly 50 jobs; all finish; none runs twice."""

import json
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.services import free_port, start_daphne
from webapp.jobs.models import Job

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

SUBMISSIONS = 50


def test_fifty_concurrent_submissions(celery_worker, team_setup, wait_for_status):
    from webapp.accounts.services import token_create

    port = free_port()
    web = start_daphne("load-web", port)
    tokens = [token_create(user=team_setup[name], name="load")[1] for name in ("alice", "bob")]

    def submit(i: int) -> tuple[int, int]:
        body = json.dumps({"workload": "fib", "params": {"ns": [10 + i % 5]}}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/jobs/", data=body, method="POST",
                                         headers={"Authorization": f"Bearer {tokens[i % 2]}",
                                                  "Content-Type": "application/json"})  # fmt: skip
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())["id"]

    try:
        with ThreadPoolExecutor(max_workers=SUBMISSIONS) as pool:
            answers = list(pool.map(submit, range(SUBMISSIONS)))
    finally:
        web.stop()
    assert [status for status, _ in answers] == [201] * SUBMISSIONS
    ids = {job_id for _, job_id in answers}
    assert len(ids) == SUBMISSIONS and Job.objects.count() == SUBMISSIONS
    for job_id in ids:
        assert wait_for_status(job_id, ("succeeded", "failed", "cancelled"), timeout=120).status == "succeeded"
    assert set(Job.objects.values_list("attempts", flat=True)) == {1}  # each claimed exactly once
