"""Paralab against a real Slurm (`make test-slurm`, scripts/test_slurm.sh): a one-node cluster on this host
and a two-node cluster across network namespaces, each with a Celery worker that hands jobs to sbatch.

These tests start daemons as root and take a minute or two, so `make test` leaves them out; `make
test-slurm` runs them. Where Slurm cannot be installed they skip with the reason — except in CI,
where that is a failure.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests import slurm_cluster
from tests.services import start_worker
from webapp.jobs.models import Job

if os.environ.get("PARALAB_SLURM_TESTS") != "1":
    collect_ignore_glob = ["test_*.py"]  # run by `make test-slurm`, which sets PARALAB_SLURM_TESTS=1

FINAL = ("succeeded", "failed", "cancelled")


def require_slurm() -> None:
    reason = slurm_cluster.missing()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the Slurm tests: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def slurm_one(tmp_path_factory) -> Iterator[dict[str, str]]:
    """The one-node cluster: `make test-slurm`'s (SLURM_CONF in the environment), or one started here.
    Its ACCOUNTING_ENV says whether it has accounting storage, or why not."""
    require_slurm()
    accounting = slurm_cluster.ACCOUNTING_ENV
    if os.environ.get("SLURM_CONF"):
        yield {"SLURM_CONF": os.environ["SLURM_CONF"],
               accounting: os.environ.get(accounting, "off: the cluster's env file does not say")}  # fmt: skip
        return
    cluster, env = slurm_cluster.one_node(slurm_cluster.cluster_dir("slurm-one"))
    cluster.start()
    try:
        yield env
    finally:
        cluster.stop()


def start_slurm_worker(name: str, workdir: Path, **env: str):
    """A Celery worker (threads pool, as in production) that sends MPI jobs to Slurm."""
    return start_worker(name, PARALAB_SLURM="1", PARALAB_SLURM_WORKDIR=str(workdir), **env)


def wait_for(check, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout:g} s: {what}")


def submit(client, **body) -> int:
    """A job of team A through the API; its id."""
    response = client.post("/api/v1/jobs/", {"team": "team-a", **body}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def final(job_id: int, timeout: float = 120) -> Job:
    return wait_for(lambda: Job.objects.filter(pk=job_id, status__in=FINAL).first(), f"job {job_id} ends", timeout)


def slurm_state(job_id: int) -> dict:
    return (Job.objects.get(pk=job_id).progress or {}).get("scheduler") or {}


def job_processes(slurm_job_id: str) -> list[psutil.Process]:
    """Every process of a Slurm job on this machine (its steps, mpiexec, ranks): Slurm sets SLURM_JOB_ID in them."""
    found = []
    for proc in psutil.process_iter(["environ"]):
        try:
            if (proc.info["environ"] or {}).get("SLURM_JOB_ID") == slurm_job_id:
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return found


def network_namespace(proc: psutil.Process) -> str:
    """The inode of a process's network namespace: which node it is on, when nodes are namespaces."""
    try:
        return os.readlink(f"/proc/{proc.pid}/ns/net")
    except OSError:
        return "gone"
