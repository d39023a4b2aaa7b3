"""Suite-wide fixtures: people and teams, API clients, and a real Celery worker process."""

from __future__ import annotations

import time

import pytest

from tests.services import ServiceProcess, start_worker


@pytest.fixture
def make_user(django_user_model):
    def make(username: str, password: str = "pw-for-tests-1"):
        return django_user_model.objects.create_user(username=username, password=password)

    return make


@pytest.fixture
def team_setup(make_user):
    """Team A (owner alice, member bob, viewer vera) and team B (owner mallory)."""
    from webapp.teams.models import Role
    from webapp.teams.services import member_set_role, team_create

    alice, bob, vera, mallory = (make_user(n) for n in ("alice", "bob", "vera", "mallory"))
    team_a = team_create(name="Team A", owner=alice)
    member_set_role(actor=alice, team=team_a, user=bob, role=Role.MEMBER)
    member_set_role(actor=alice, team=team_a, user=vera, role=Role.VIEWER)
    team_b = team_create(name="Team B", owner=mallory)
    return {"alice": alice, "bob": bob, "vera": vera, "mallory": mallory, "team_a": team_a, "team_b": team_b}


@pytest.fixture
def api_client_for():
    """A DRF client authenticated with a real API token of the given user."""
    from rest_framework.test import APIClient

    from webapp.accounts.services import token_create

    def make(user):
        _, text = token_create(user=user, name="tests")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {text}")
        return client

    return make


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker):
    """The suite's real Celery worker, on the suite's own queues and test database."""
    worker = start_worker("celery-worker")
    try:
        yield worker.proc
    finally:
        worker.stop()


@pytest.fixture
def worker_factory(django_db_setup):
    """Start extra workers for one test (e.g. to kill one); all are stopped afterwards."""
    started: list[ServiceProcess] = []

    def start(name: str, **env: str) -> ServiceProcess:
        started.append(start_worker(name, **env))
        return started[-1]

    yield start
    for worker in started:
        worker.stop()


def _wait_for_status(job_id: int, statuses: tuple[str, ...], timeout: float = 60.0):
    """Poll the database until the job reaches one of ``statuses``; return it."""
    from webapp.jobs.models import Job

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = Job.objects.get(pk=job_id)
        if job.status in statuses:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} is {job.status!r}, not {statuses} after {timeout} s; error={job.error!r}")


@pytest.fixture
def wait_for_status():
    return _wait_for_status
