"""One description of a job for ``paralab run`` and ``paralab remote``: a run here and a job read back from the
API with the same values print the same text."""

import hashlib

import pytest
from django.core.files.base import ContentFile

from client.describe import describe_job, run_document
from kernels.engine import RunResult
from webapp.jobs.models import Artifact, Job, Status

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG not really"


SAME = {"backend": "threads", "implementation": "python", "workers": 2}


def local_run(**values) -> RunResult:
    values = {**SAME, **values}
    return RunResult(
        workload="mandelbrot", params={"width": 40}, value={"escaped": 612}, verified=True,
        verification="matches the sequential reference", wall_time=0.0421, spans=[], log=[],
        artifacts={"mandelbrot.png": PNG}, **values,
    )  # fmt: skip


def remote_job(team_setup, api_client_for, settings, tmp_path, **fields) -> dict:
    """The same run as a job on the server, read back through the API as ``paralab remote`` reads it."""
    settings.MEDIA_ROOT = str(tmp_path)
    alice = team_setup["alice"]
    job = Job.objects.create(
        team=team_setup["team_a"], submitted_by=alice, workload="mandelbrot", params={"width": 40},
        status=Status.SUCCEEDED, result={"escaped": 612}, verified=True,
        verification="matches the sequential reference", wall_time=0.0421, **{**SAME, **fields},
    )  # fmt: skip
    Artifact.objects.create(job=job, name="mandelbrot.png", file=ContentFile(PNG, name="m.png"), size=len(PNG),
                            sha256=hashlib.sha256(PNG).hexdigest())  # fmt: skip
    return api_client_for(alice).get(f"/api/v1/jobs/{job.pk}/").json()


def test_a_local_run_and_a_remote_job_with_the_same_values_read_the_same(
    team_setup, api_client_for, settings, tmp_path
):
    text = describe_job(run_document(local_run()))
    assert text == describe_job(remote_job(team_setup, api_client_for, settings, tmp_path))
    assert text.splitlines() == [
        'result: {"escaped": 612}',
        "verification: verified (matches the sequential reference)",
        "wall time: 0.042 s (threads × python, 2 workers)",
        "artifact: mandelbrot.png",
    ]


def test_a_remote_job_names_its_worker_host_and_a_failed_one_says_why(team_setup, api_client_for, settings, tmp_path):
    job = remote_job(team_setup, api_client_for, settings, tmp_path, worker_host="node-1")
    assert describe_job(job).splitlines()[2] == "wall time: 0.042 s (threads × python, 2 workers) on node-1"

    failed = {**job, "status": "failed", "error": "rank 1 died"}
    assert describe_job(failed) == f"job #{job['id']} failed: rank 1 died"
    unchecked = run_document(local_run())
    unchecked.update(verified=None, verification="", workers=1)
    assert describe_job(unchecked).splitlines()[1:3] == [
        "verification: unchecked (no detail)",
        "wall time: 0.042 s (threads × python, 1 worker)",
    ]


def test_a_hybrid_run_here_and_on_a_server_say_the_layout_that_ran(team_setup, api_client_for, settings, tmp_path):
    layout = {"ranks": 2, "threads": 2, "chosen": "asked", "cores": 4, "host": "node-1"}
    hybrid = {"backend": "hybrid", "implementation": "native", "workers": 4}
    text = describe_job(run_document(local_run(**hybrid, layout=layout)))
    remote = remote_job(team_setup, api_client_for, settings, tmp_path, **hybrid, threads=2,
                        provenance={"layout": layout})  # fmt: skip
    assert text == describe_job(remote)
    assert text.splitlines()[2:] == [
        "wall time: 0.042 s (hybrid × native, 4 workers)",
        "layout: 2 MPI ranks × 2 OpenMP threads (as asked on node-1)",
        "artifact: mandelbrot.png",
    ]
