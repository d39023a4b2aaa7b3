"""Jobs through the API on a one-node Slurm cluster: run, record, queue, cancel, refuse, time out.

The worker's deployment default partition does not exist, so every job that runs proves the team's
own default (partition "debug", account "physics") won over it.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from tests import slurm_cluster
from tests.slurm.conftest import FINAL, final, job_processes, slurm_state, start_slurm_worker, submit, wait_for
from webapp.jobs.models import Job
from webapp.jobs.slurm import team_slurm_set

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

LONG_HEAT = {"rows": 256, "cols": 256, "steps": 50_000}  # minutes of work: it is cancelled or killed long before


@pytest.fixture(scope="module")
def worker(slurm_one, django_db_setup, django_db_blocker, tmp_path_factory):
    proc = start_slurm_worker(
        "slurm-one-worker", tmp_path_factory.mktemp("slurm-work"), PARALAB_SLURM_PARTITION="no-such-partition",
        **slurm_one,
    )  # fmt: skip
    try:
        yield slurm_one
    finally:
        proc.stop()


@pytest.fixture
def alice(team_setup, api_client_for):
    team_slurm_set(team=team_setup["team_a"], values={"partition": "debug", "account": "physics"})
    return api_client_for(team_setup["alice"])


def squeue(env: dict[str, str], *argv: str) -> str:
    return subprocess.run(["squeue", "--noheader", *argv], capture_output=True, text=True, env=env, check=True).stdout


def test_an_mpi_job_runs_as_a_slurm_job_with_live_progress_and_its_record_in_provenance(worker, alice):
    # A few seconds of ranks (~3.6 s here): jobacct_gather samples each step once a second, and a step that
    # ends before its first sample has no MaxRSS (a 0.4 s run of 128² × 1500 had none in one CI run).
    job_id = submit(alice, workload="heat", params={"rows": 256, "cols": 256, "steps": 6000}, backend="mpi", workers=2)
    # Progress reaches the job row (and its watchers) while Slurm runs it, as for a local run.
    running = wait_for(
        lambda: (
            (job := Job.objects.get(pk=job_id)).status in FINAL
            or 0 < (job.progress or {}).get("done", 0) < (job.progress or {}).get("total", 0)
        ),
        "progress while running",
    )
    assert running is True
    job = final(job_id)
    assert job.status == "succeeded", job.error
    assert job.verified is True and job.progress["done"] == job.progress["total"] == 20
    assert job.progress["scheduler"]["state"] == "COMPLETED"
    slurm = job.provenance["slurm"]
    assert slurm["job_id"].isdigit() and slurm["partition"] == "debug" and slurm["nodes"]
    assert slurm["state"] == "COMPLETED" and slurm["detail"]["ExitCode"] == "0:0"
    assert slurm["detail"]["Account"] == "physics" and slurm["detail"]["NumTasks"] == "2"
    assert slurm["detail"]["TimeLimit"] == "00:15:00"  # PARALAB_MAX_RUNTIME, 900 s, became Slurm's --time
    assert f"submitted to Slurm as job {slurm['job_id']}" in job.log
    assert any(line.startswith("rank 1 of 2 on ") for line in job.log), job.log
    print(f"\nSlurm job {slurm['job_id']}: {slurm['state']} on {slurm['nodes']}, run time {slurm['detail']['RunTime']}")


def test_slurms_accounting_of_the_job_is_in_its_provenance(worker, alice):
    status = worker[slurm_cluster.ACCOUNTING_ENV]  # "on", or why the cluster has no accounting storage
    if status != "on" and os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the Slurm accounting test: accounting {status}")
    # A few seconds of ranks (~3.6 s here): jobacct_gather samples each step once a second, and a step that
    # ends before its first sample has no MaxRSS (a 0.4 s run of 128² × 1500 had none in one CI run).
    job_id = submit(alice, workload="heat", params={"rows": 256, "cols": 256, "steps": 6000}, backend="mpi", workers=2)
    job = final(job_id)
    assert job.status == "succeeded", job.error
    slurm = job.provenance["slurm"]
    accounting = slurm["detail"]["accounting"]
    if status != "on":
        # No accounting storage (slurmdbd): the record says so instead of making figures up.
        assert accounting == {"available": False, "why": "Slurm accounting storage is disabled"}
        pytest.skip(f"the accounting figures need slurmdbd and MariaDB: accounting {status}")
    assert accounting["available"] is True and accounting["final"] is True, accounting
    assert accounting["job_id"] == slurm["job_id"] and accounting["state"] == "COMPLETED", accounting
    assert f"{slurm['job_id']}.batch" in [step["step"] for step in accounting["steps"]], accounting
    # Elapsed is whole seconds; two CPUs cannot give more CPU time than twice the wall time.
    assert 0 < accounting["elapsed_seconds"] < 120, accounting
    assert 0 < accounting["cpu_seconds"] <= 2 * (accounting["elapsed_seconds"] + 1), accounting
    assert 1 << 20 <= accounting["max_rss_bytes"] <= 4 << 30, accounting  # ranks of numpy: tens of MB each
    # The same figures as sacct gives anyone who asks the cluster for this job.
    asked = subprocess.run(["sacct", "--jobs", slurm["job_id"], "--noheader", "--parsable2", "--format",
                            "JobID,Elapsed,TotalCPU"], capture_output=True, text=True, env={**os.environ, **worker},
                           check=True).stdout.splitlines()[0]  # fmt: skip
    assert asked == "|".join([slurm["job_id"], accounting["elapsed"], accounting["cpu_time"]])
    steps = ", ".join(f"{step['step']} {step['max_rss'] or '-'}" for step in accounting["steps"])
    print(f"\nSlurm job {slurm['job_id']}: elapsed {accounting['elapsed']}, CPU {accounting['cpu_time']},"
          f" MaxRSS {accounting['max_rss_bytes'] / (1 << 20):.1f} MiB (steps' MaxRSS: {steps})")  # fmt: skip


def test_a_job_waiting_for_cpus_shows_slurms_reason_then_runs(worker, alice, client, team_setup):
    env = {**os.environ, **worker}
    blocker = subprocess.run(["sbatch", "--parsable", "--ntasks", "2", "--output", "/dev/null", "--wrap", "sleep 300"],
                             capture_output=True, text=True, env=env, check=True).stdout.strip()  # fmt: skip
    try:
        wait_for(lambda: squeue(env, "--jobs", blocker, "--format", "%T").strip() == "RUNNING", "the blocker runs")
        job_id = submit(alice, workload="mpi_ring", params={"laps": 2}, backend="mpi", workers=2)
        state = wait_for(lambda: slurm_state(job_id).get("reason") == "Resources" and slurm_state(job_id), "Resources")
        assert state["state"] == "PENDING" and state["text"] == "queued in Slurm: Resources"
        client.force_login(team_setup["alice"])
        page = client.get(f"/jobs/{job_id}/").content.decode()
        assert "queued in Slurm: Resources" in page
        assert Job.objects.get(pk=job_id).status == "running"  # claimed by the worker, which follows it in Slurm
    finally:
        subprocess.run(["scancel", blocker], env=env, check=True)
    job = final(job_id)
    assert job.status == "succeeded", job.error
    assert job.result["message"] == "P0P1P0P1", job.result
    assert any("queued in Slurm: Resources" in line for line in job.log), job.log


def test_cancel_is_scancel_and_leaves_no_process_of_the_job(worker, alice):
    job_id = submit(alice, workload="heat", params=LONG_HEAT, backend="mpi", workers=2)
    wait_for(lambda: slurm_state(job_id).get("state") == "RUNNING", "Slurm runs the job")
    slurm_id = slurm_state(job_id)["job_id"]
    wait_for(lambda: len(job_processes(slurm_id)) >= 3, "the job's processes (engine, mpiexec, ranks) are up")
    assert alice.post(f"/api/v1/jobs/{job_id}/cancel/").status_code == 200
    job = final(job_id, timeout=90)
    assert job.status == "cancelled", job.error
    left = job_processes(slurm_id)
    assert left == [], [p.cmdline() for p in left]
    assert squeue({**os.environ, **worker}, "--jobs", slurm_id) == ""
    assert job.provenance["slurm"]["state"] == "CANCELLED"
    print(f"\ncancelled Slurm job {slurm_id}: {len(left)} of its processes left on this node")


def test_a_job_larger_than_the_cluster_says_why_it_waits_and_can_be_cancelled_there(worker, alice):
    job_id = submit(alice, workload="mpi_ring", params={}, backend="mpi", workers=4)  # the cluster has 2 CPUs
    # Slurm takes it but will not start it on this partition; the page says so rather than "running".
    state = wait_for(lambda: slurm_state(job_id).get("reason") == "PartitionConfig" and slurm_state(job_id), "reason")
    assert state["text"] == "queued in Slurm: PartitionConfig"
    assert alice.post(f"/api/v1/jobs/{job_id}/cancel/").status_code == 200
    job = final(job_id)
    assert job.status == "cancelled" and job.provenance["slurm"]["state"] == "CANCELLED"
    assert squeue({**os.environ, **worker}, "--jobs", state["job_id"]) == ""


def test_the_deployment_default_applies_where_the_team_has_none(worker, team_setup, api_client_for):
    mallory = api_client_for(team_setup["mallory"])
    response = mallory.post("/api/v1/jobs/", {"team": "team-b", "workload": "mpi_ring", "backend": "mpi",
                                              "workers": 2}, format="json")  # fmt: skip
    job = final(response.json()["id"])
    assert job.status == "failed" and "invalid partition specified: no-such-partition" in job.error.lower(), job.error


def test_the_time_limit_kills_the_slurm_job(worker, alice):
    job_id = submit(alice, workload="heat", params=LONG_HEAT, backend="mpi", workers=2, time_limit=4)
    job = final(job_id, timeout=90)
    assert job.status == "failed" and job.error.startswith("time limit: time limit of 4 s exceeded"), job.error
    slurm = job.provenance["slurm"]
    assert slurm["detail"]["TimeLimit"] == "00:01:00"  # 4 s rounded up to Slurm's whole minutes
    assert job_processes(slurm["job_id"]) == []
