"""Suite-wide fixtures: people and teams, API clients, and a real Celery worker process."""

from __future__ import annotations

import os
import time

import pytest

from tests.services import ServiceProcess, start_worker


def pytest_sessionstart(session):
    """Stop a run that is not on the database scripts/test.sh asked for (PARALAB_TEST_DATABASE).

    A PostgreSQL pass that silently ran on SQLite would skip every PostgreSQL-only test and still pass.
    """
    from django.db import connection

    expected = os.environ.get("PARALAB_TEST_DATABASE")
    if expected and connection.vendor != expected:
        pytest.exit(
            f"this pass must run on {expected} but DATABASE_URL gives {connection.vendor}",
            returncode=pytest.ExitCode.USAGE_ERROR,
        )
    _flush_retries_a_deadlock()


def _flush_retries_a_deadlock() -> None:
    """Emptying the database between tests (Django's flush, a TRUNCATE of every table) takes every table's
    lock at once; a real worker's sweep that locks rows meanwhile can close a cycle, and PostgreSQL may abort
    the TRUNCATE (seen in CI: "deadlock detected", then the next test met the last one's rows). The flush runs
    in a transaction that is rolled back on error: it is tried again, a few times."""
    from django.core.management.base import CommandError
    from django.core.management.commands import flush
    from django.db import OperationalError

    original = flush.Command.handle

    def handle(self, **options):
        for attempt in range(5):
            try:
                return original(self, **options)
            except CommandError as error:
                if not isinstance(error.__cause__, OperationalError) or "deadlock" not in str(error.__cause__):
                    raise
                if attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))

    flush.Command.handle = handle


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
