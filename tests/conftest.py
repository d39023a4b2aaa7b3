"""Suite-wide fixtures: people and teams, API clients, and a real Celery worker process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"


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


def _wait_for_line(path: Path, needle: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if needle in path.read_text(errors="replace"):
            return
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise RuntimeError(f"Celery worker not ready; its log:\n{path.read_text(errors='replace')[-3000:]}")


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker):
    """A real `celery worker` process (threads pool, as in production) on the suite's own queue and test database."""
    BUILD.mkdir(exist_ok=True)
    log_path = BUILD / "celery-worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "PARALAB_TEST_DB_NAME": str(connection.settings_dict["NAME"]),
    }
    command = [
        sys.executable, "-m", "celery", "-A", "tasks", "worker", "-P", "threads", "--concurrency", "1",
        "--loglevel", "INFO", "--hostname", f"test-{os.getpid()}@%h",
    ]  # fmt: skip
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        _wait_for_line(log_path, "ready.", proc, timeout=60)
        yield proc
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


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
