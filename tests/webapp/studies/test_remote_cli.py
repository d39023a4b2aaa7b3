"""`paralab remote` as a user runs it: a separate process talking HTTP to a live server (pytest-django's
live_server) whose jobs run on a real Celery worker. Errors are one line on stderr with a meaningful exit code."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.webapp.jobs.sockets import quiet_running_job
from webapp.accounts.services import token_create
from webapp.jobs.models import Job, Status
from webapp.studies import services
from webapp.studies.models import Study
from webapp.studies.services import study_cancel

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]


def paralab(*args: str, url: str, token: str | None, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PARALAB_URL", "PARALAB_TOKEN", "DJANGO_SETTINGS_MODULE")}
    env["PARALAB_URL"] = url
    if token is not None:
        env["PARALAB_TOKEN"] = token
    return subprocess.run(
        [sys.executable, "-m", "client.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip


@pytest.fixture
def token(team_setup):
    return token_create(user=team_setup["alice"], name="cli")[1]


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


def test_submit_and_wait_follows_the_job_to_its_verified_result(live_server, celery_worker, token):
    run = paralab("remote", "submit", "fib", "-p", "ns=22,21", "--backend", "processes", "--workers", "2", "--wait",
                  url=live_server.url, token=token)  # fmt: skip
    assert run.returncode == 0, run.stderr
    job = Job.objects.get()
    assert job.status == Status.SUCCEEDED and (job.backend, job.workers) == ("processes", 2)
    assert f"job #{job.pk} queued: fib on processes × python × 2  {live_server.url}/jobs/{job.pk}/" in run.stdout
    assert "result: [17711, 10946]" in run.stdout
    assert "verification: verified (all 2 values equal F(n) by exact integer fast doubling)" in run.stdout
    assert "wall time:" in run.stdout and "(processes × python, 2 workers)" in run.stdout
    assert "] 2/2 units" in run.stderr  # the progress bar reached the end

    listing = paralab("remote", "jobs", url=live_server.url, token=token)
    assert listing.returncode == 0, listing.stderr
    header, row = listing.stdout.splitlines()[:2]
    assert header.split()[:3] == ["job", "status", "verified"]
    assert row.split()[:4] == [f"#{job.pk}", "succeeded", "yes", "fib"]


def test_a_tiny_study_waits_and_prints_its_speedup_table(live_server, celery_worker, token):
    run = paralab("remote", "study", "fib", "-p", "ns=22,21", "--backends", "processes", "--workers", "1,2",
                  "--repetitions", "1", "--wait", url=live_server.url, token=token)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "study #" in run.stdout and "3 jobs, one at a time" in run.stdout
    assert "succeeded: 3 of 3 jobs succeeded" in run.stdout
    table = run.stdout.splitlines()
    assert any(line.startswith("sequential × python") and "1.00×" in line for line in table)
    assert any(line.startswith("processes × python") for line in table)
    assert "processes × python: no Amdahl fit (it needs at least 3 worker counts)" in run.stdout
    assert "] 3/3 jobs" in run.stderr


@pytest.mark.parametrize("cores", [1, 2, 3, 4, 8, 16, 64, 128])
def test_the_seed_preset_is_accepted_whatever_the_servers_core_count(live_server, token, team_setup, settings,
                                                                     monkeypatch, cores):  # fmt: skip
    # The live server runs in this process: its core count is patched here (the CLI only asks over HTTP).
    settings.PARALAB_MAX_WORKERS = 256
    monkeypatch.setattr(services, "machine_cores", lambda: cores)
    run = paralab("remote", "study", "--preset", "seed-fib", url=live_server.url, token=token)
    study = Study.objects.get()
    study_cancel(user=team_setup["alice"], study=study)  # the point is that it was made, not to run 78 fib jobs
    assert run.returncode == 0, run.stderr
    jobs = study.runs.count()
    assert jobs <= settings.PARALAB_TEAM_MAX_ACTIVE and study.workers[0] == 1 and study.workers[-1] == cores
    assert f"study #{study.pk} queued: fib [38..33]: " in run.stdout and f"; {jobs} jobs, one at a time" in run.stdout


def test_a_preset_the_team_has_no_room_for_is_one_line_and_exit_5(live_server, token, settings, monkeypatch,
                                                                  team_setup):  # fmt: skip
    monkeypatch.setattr(services, "machine_cores", lambda: 4)  # 78 jobs
    settings.PARALAB_TEAM_MAX_ACTIVE = 80
    # 3 running that no worker ends (a study's queued jobs were run by the suite's worker before the CLI asked,
    # on a loaded host): room for 77.
    for _ in range(3):
        quiet_running_job(team_setup["team_a"], team_setup["alice"])
    run = paralab("remote", "study", "--preset", "seed-fib", url=live_server.url, token=token)
    assert run.returncode == 5
    assert one_line(run.stderr) == (
        "paralab: error: the server is busy: Team A already has 3 queued or running jobs and its limit is 80; "
        "78 more would pass it: wait for some to finish; try again later"
    )
    assert Study.objects.count() == 0


def test_a_bad_token_is_one_line_and_exit_4(live_server, token):
    run = paralab("remote", "jobs", url=live_server.url, token="plb_not-a-real-token")
    assert run.returncode == 4
    line = one_line(run.stderr)
    assert line.startswith(f"paralab: error: the server at {live_server.url} refused PARALAB_TOKEN")
    assert "Invalid or revoked API token." in line
    missing = paralab("remote", "jobs", url=live_server.url, token=None)
    assert missing.returncode == 2
    assert one_line(missing.stderr).startswith("paralab: error: PARALAB_TOKEN is not set")


def test_an_unreachable_server_is_one_line_and_exit_5(token):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once the probe is closed
    run = paralab("remote", "submit", "fib", url=f"http://127.0.0.1:{port}", token=token)
    assert run.returncode == 5
    assert one_line(run.stderr) == (
        f"paralab: error: cannot reach the Paralab server at http://127.0.0.1:{port}: [Errno 111] Connection refused"
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["submit", "fib", "-p", "ns=22,99"],
         "the server refused the request: params.ns: must be 1 to 64 integers, each between 1 and 40, got 99"),
        (["submit", "fib", "--backend", "gpu"], 'the server refused the request: backend: "gpu" is not a valid choice.'),
        (["submit", "fib", "--backend", "sequential", "--workers", "2"],
         "the server refused the request: workers: the sequential backend runs with exactly 1 worker"),
        (["study", "fib", "--backends", "processes", "--workers", "0,1"],
         "the server refused the request: workers: must be 1 to 64 integers, each between 1 and 8, got 0"),
        (["submit", "fib", "-p", "ns"], "-p expects KEY=VALUE, got 'ns'"),
        (["study", "--preset", "seed-fib", "--backends", "threads"],
         "--preset sets the workload, its params and backends; give none of them"),
        (["study", "--preset", "seed-fib", "--threads", "2"],
         "--threads is for hybrid runs, and a preset sets its own backends; leave --threads out"),
    ],
)  # fmt: skip
def test_bad_input_names_the_field_and_the_reason_with_exit_2(live_server, token, args, message):
    run = paralab("remote", *args, url=live_server.url, token=token)
    assert run.returncode == 2
    assert one_line(run.stderr) == f"paralab: error: {message}"
    assert not Job.objects.exists()


def test_a_viewer_is_not_allowed_to_submit(live_server, team_setup):
    viewer = token_create(user=team_setup["vera"], name="cli")[1]
    run = paralab("remote", "submit", "fib", "--team", "team-a", url=live_server.url, token=viewer)
    assert run.returncode == 4
    assert one_line(run.stderr) == "paralab: error: not allowed: Viewers cannot submit or cancel jobs in this team."
