"""The submission limits hold under concurrency: N submissions at once from real threads, each with its own
database connection, get exactly the limit accepted and the rest a 429 naming the reason.

Without a lock each request counted the jobs before any of the others had inserted theirs: 90
concurrent POSTs against a rate of 60 a minute were 85 accepted; 25 against a team cap of 10, all 25.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from webapp.accounts.services import token_create
from webapp.jobs.models import Job, Status
from webapp.teams.models import Role
from webapp.teams.services import member_set_role

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def unserved_queues(settings):
    """The accepted jobs go to queues no worker serves: a suite worker left running by an earlier test would
    otherwise run them, and a study's small job that ended mid-burst freed a place under the cap."""
    settings.CELERY_TASK_DEFAULT_QUEUE = os.environ["PARALAB_QUEUE"] + "-nobody"


TINY_STUDY = {
    "workload": "fib",
    "params": {"ns": [22, 21]},
    "backends": ["processes"],
    "workers": [1, 2],
    "repetitions": 1,
}
STUDY_JOBS = 3  # the sequential baseline, then processes with 1 and 2 workers; one repetition


def at_once(posts: list[tuple[Any, str, dict[str, Any]]]) -> list[tuple[int, dict[str, Any]]]:
    """Send every (user, path, body) POST at the same moment, each from its own thread and database
    connection; their (status, JSON body) in the same order."""
    clients = []
    for user, path, body in posts:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_create(user=user, name='race')[1]}")
        clients.append((client, path, body))
    start = threading.Barrier(len(posts))
    answers: list[tuple[int, dict[str, Any]]] = [(0, {})] * len(posts)

    def post(i: int) -> None:
        client, path, body = clients[i]
        start.wait()
        try:
            response = client.post(path, body, format="json")
            answers[i] = (response.status_code, response.json())
        finally:
            connection.close()  # this thread's own connection (back to the pool on PostgreSQL)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(posts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return answers


def active_jobs(team: Any) -> int:
    return Job.objects.filter(team=team, status__in=(Status.QUEUED, Status.RUNNING)).count()


def test_concurrent_submissions_fill_the_team_cap_exactly(team_setup, settings):
    settings.PARALAB_TEAM_MAX_ACTIVE = 4
    users = [team_setup["alice"], team_setup["bob"]]
    answers = at_once([(users[i % 2], "/api/v1/jobs/", {"workload": "fib"}) for i in range(16)])
    print("team cap 4, 16 at once:", Counter(status for status, _ in answers))
    assert Counter(status for status, _ in answers) == {201: 4, 429: 12}
    for status, body in answers:
        if status == 429:
            assert "queued or running jobs and its limit is 4" in body["detail"], body
    assert active_jobs(team_setup["team_a"]) == 4


def test_concurrent_submissions_of_one_user_keep_the_rate(team_setup, settings):
    settings.PARALAB_SUBMIT_RATE = 4
    answers = at_once([(team_setup["alice"], "/api/v1/jobs/", {"workload": "fib"}) for _ in range(16)])
    print("rate 4 a minute, 16 at once:", Counter(status for status, _ in answers))
    assert Counter(status for status, _ in answers) == {201: 4, 429: 12}
    assert {body["detail"] for status, body in answers if status == 429} == {
        "at most 4 submissions a minute; wait a little"
    }


def test_the_rate_holds_across_the_users_teams(team_setup, settings):
    """The rate is the user's, not a team's: submissions to two teams at once share it."""
    settings.PARALAB_SUBMIT_RATE = 4
    alice = team_setup["alice"]
    member_set_role(actor=team_setup["mallory"], team=team_setup["team_b"], user=alice, role=Role.MEMBER)
    slugs = [team_setup["team_a"].slug, team_setup["team_b"].slug]
    answers = at_once([(alice, "/api/v1/jobs/", {"workload": "fib", "team": slugs[i % 2]}) for i in range(16)])
    print("rate 4 a minute over two teams, 16 at once:", Counter(status for status, _ in answers))
    assert Counter(status for status, _ in answers) == {201: 4, 429: 12}
    assert Job.objects.filter(submitted_by=alice).count() == 4


def test_a_study_and_single_jobs_at_once_never_pass_the_team_cap(team_setup, settings):
    """Whichever comes first, the team ends at its cap: the study (3 jobs) fits only while 2 slots of 5 are taken."""
    settings.PARALAB_TEAM_MAX_ACTIVE = 5
    singles = [(team_setup["bob"], "/api/v1/jobs/", {"workload": "fib"}) for _ in range(6)]
    studies = [(team_setup["alice"], "/api/v1/studies/", TINY_STUDY) for _ in range(2)]
    answers = at_once(singles + studies)
    print("team cap 5, 6 jobs and 2 studies of 3 at once:", Counter(status for status, _ in answers))
    assert {status for status, _ in answers} <= {201, 429}, answers
    for status, body in answers:
        if status == 429:
            assert "queued or running jobs and its limit is 5" in body["detail"], body
    accepted_jobs = sum(status == 201 for status, _ in answers[:6])
    accepted_studies = sum(status == 201 for status, _ in answers[6:])
    assert accepted_jobs + STUDY_JOBS * accepted_studies == active_jobs(team_setup["team_a"]) == 5
