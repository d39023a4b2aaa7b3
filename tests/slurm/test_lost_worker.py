"""A worker killed while its job runs in Slurm: the sweeper fails (or requeues) the job and scancels its Slurm job,
which would otherwise run on until its --time (and, requeued, run twice)."""

from __future__ import annotations

import os
import subprocess
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.slurm.conftest import job_processes, slurm_state, start_slurm_worker, submit, wait_for
from webapp.jobs.models import Job
from webapp.jobs.services import jobs_reap_lost
from webapp.jobs.slurm import team_slurm_set

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

LONG_HEAT = {"rows": 256, "cols": 256, "steps": 50_000}  # minutes of work: its worker is killed long before


@pytest.fixture
def alice(team_setup, api_client_for):
    team_slurm_set(team=team_setup["team_a"], values={"partition": "debug"})
    return api_client_for(team_setup["alice"])


@pytest.fixture
def victim(slurm_one, settings, tmp_path, monkeypatch):
    """A Slurm worker on a queue prefix of its own (a requeued job must not reach another test's worker), to kill."""
    prefix = f"lost-{uuid.uuid4().hex[:6]}"
    settings.CELERY_TASK_DEFAULT_QUEUE = prefix  # where the API sends the job, and the reaper a requeued one
    for key, value in slurm_one.items():  # the sweep in this process talks to the same cluster as the worker
        monkeypatch.setenv(key, value)
    proc = start_slurm_worker(f"slurm-victim-{prefix}", tmp_path, PARALAB_QUEUE=prefix, **slurm_one)
    try:
        yield proc
    finally:
        proc.stop()


def slurm(*argv: str) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()


@pytest.mark.parametrize("action", ["fail", "requeue"])
def test_a_lost_workers_slurm_job_is_cancelled_by_the_sweep(victim, alice, settings, action):
    settings.PARALAB_LOST_JOB_ACTION = action
    job_id = submit(alice, workload="heat", params=LONG_HEAT, backend="mpi", workers=2)
    wait_for(lambda: slurm_state(job_id).get("state") == "RUNNING", "Slurm runs the job")
    slurm_id = Job.objects.get(pk=job_id).provenance["slurm"]["job_id"]  # the row knows it while the job runs
    wait_for(lambda: len(job_processes(slurm_id)) >= 3, "the job's processes (engine, mpiexec, ranks) are up")

    victim.kill()  # kill -9 the worker alone: its Slurm job does not depend on it, and runs on
    assert slurm("squeue", "--noheader", "--jobs", slurm_id, "--format", "%T") == "RUNNING"
    wait_for(lambda: jobs_reap_lost(lost_after=2) == [job_id], "the sweep reaps the job", timeout=30)

    job = Job.objects.get(pk=job_id)
    said = f"its Slurm job {slurm_id} was cancelled"
    if action == "requeue":
        assert job.status == "queued" and job.error.startswith("requeued once: ") and job.error.endswith(said)
    else:
        assert job.status == "failed" and job.error.startswith("worker lost: ") and job.error.endswith(said)
    assert job.provenance["slurm"]["orphan"] == said and job.provenance["slurm"]["state"] == "CANCELLED"
    assert slurm("squeue", "--noheader", "--jobs", slurm_id) == ""  # gone from the queue when the sweep returned
    shown = slurm("scontrol", "--oneliner", "show", "job", slurm_id)
    assert "JobState=CANCELLED" in shown, shown
    left = job_processes(slurm_id)
    assert left == [], [p.cmdline() for p in left]
    assert jobs_reap_lost(lost_after=2) == []  # reaped once
    print(f"\n[{action}] worker killed: Slurm job {slurm_id} cancelled by the sweep, no process of it left")


def test_a_sweep_without_slurms_commands_says_it_could_not_cancel(team_setup, monkeypatch, caplog):
    # A worker without Slurm sweeps too: it cannot scancel, and says so rather than failing the sweep.
    job = Job.objects.create(team=team_setup["team_a"], submitted_by=team_setup["alice"], workload="mpi_ring",
                             params={}, backend="mpi", implementation="python", workers=2, status="running",
                             provenance={"slurm": {"scheduler": "slurm", "job_id": "4242", "state": "RUNNING"}})  # fmt: skip
    # Silent past this sweep's 2 s, not past a suite worker's 30 s: that worker's own sweep must not take it first.
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=10))
    monkeypatch.setenv("PATH", os.path.dirname(os.__file__))  # a directory with no scancel in it
    assert jobs_reap_lost(lost_after=2) == [job.pk]
    job.refresh_from_db()
    said = "its Slurm job 4242 could not be cancelled: scancel not found: the worker needs Slurm's client commands"
    assert job.status == "failed" and said in job.error, job.error
    assert said in job.provenance["slurm"]["orphan"] and job.provenance["slurm"]["state"] == "RUNNING"
    assert said in caplog.text
