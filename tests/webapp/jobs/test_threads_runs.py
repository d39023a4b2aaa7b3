"""Hybrid jobs run by a real Celery worker: the default threads per rank is chosen on the worker's host, from
its cores (PARALAB_CORES stands in for machines of 1 to 128 cores), and recorded where the page, the API
and `paralab remote` show it, whichever of them submitted the job."""

from __future__ import annotations

import socket
import uuid

import pytest

from tests.webapp.jobs.test_threads import IMAGE, form, layout_cell
from tests.webapp.studies.test_remote_cli import one_line, paralab
from webapp.accounts.services import token_create
from webapp.jobs.models import Job, Status

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

WORKERS = 8
PARAMS = [f"{name}={value}" for name, value in IMAGE.items()]


@pytest.fixture
def own_worker(settings, worker_factory):
    """A worker with the given core count on a queue prefix of its own, which this test's submissions use."""

    def start(cores: int) -> None:
        prefix = f"threads-{cores}-{uuid.uuid4().hex[:6]}"
        settings.CELERY_TASK_DEFAULT_QUEUE = prefix
        worker_factory(f"threads-{cores}", PARALAB_QUEUE=prefix, PARALAB_CORES=str(cores))

    return start


def cli(*args: str, url: str, token: str):
    return paralab("remote", "submit", "mandelbrot", *(a for p in PARAMS for a in ("-p", p)), "--backend", "hybrid",
                   "--impl", "native", "--quiet", *args, url=url, token=token)  # fmt: skip


@pytest.mark.parametrize(("cores", "ranks", "threads"), [(1, 8, 1), (4, 2, 4), (16, 1, 8), (64, 1, 8), (128, 1, 8)])
def test_the_default_threads_per_rank_is_chosen_on_the_workers_host_and_shown(
    cores, ranks, threads, own_worker, live_server, team_setup, client_for, api_client_for, wait_for_status
):
    own_worker(cores)
    alice = team_setup["alice"]
    browser = client_for(alice)
    page = browser.post("/jobs/new/", form(backend="hybrid", workers=WORKERS))
    assert page.status_code == 302, page.context["form"].errors
    api = api_client_for(alice)
    created = api.post("/api/v1/jobs/", {"workload": "mandelbrot", "params": IMAGE, "backend": "hybrid",
                                         "implementation": "native", "workers": WORKERS}, format="json")  # fmt: skip
    assert created.status_code == 201, created.json()
    run = cli("--workers", str(WORKERS), "--wait", url=live_server.url, token=token_create(user=alice, name="cli")[1])
    assert run.returncode == 0, run.stderr

    host = socket.gethostname()  # the worker's: it runs on this machine
    shown = f"{ranks} MPI rank{'s' * (ranks > 1)} × {threads} OpenMP thread{'s' * (threads > 1)} "
    shown += f"(the default for {cores} core{'s' * (cores > 1)} on {host})"
    assert f"layout: {shown}" in run.stdout
    jobs = list(Job.objects.order_by("pk"))
    assert len(jobs) == 3
    for job in jobs:
        job = wait_for_status(job.pk, (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED), timeout=120)
        assert job.status == Status.SUCCEEDED and job.verified is True, job.error
        assert job.threads is None  # none was asked for
        assert job.provenance["layout"] == {"ranks": ranks, "threads": threads, "chosen": "default",
                                            "cores": cores, "host": job.worker_host}  # fmt: skip
        assert job.worker_host == host
        assert f"hybrid: {shown.split(' (')[0]}" in job.log
        assert layout_cell(browser.get(f"/jobs/{job.pk}/").content.decode()) == shown
        body = api.get(f"/api/v1/jobs/{job.pk}/").json()
        assert body["threads"] is None and body["provenance"]["layout"]["threads"] == threads


def test_the_remote_cli_asks_for_threads_per_rank(own_worker, live_server, team_setup):
    own_worker(4)
    token = token_create(user=team_setup["alice"], name="cli")[1]
    run = cli("--workers", "4", "--threads", "1", "--wait", url=live_server.url, token=token)
    assert run.returncode == 0, run.stderr
    job = Job.objects.get()
    assert job.threads == 1 and job.provenance["layout"]["chosen"] == "asked"
    assert f"layout: 4 MPI ranks × 1 OpenMP thread (as asked on {job.worker_host})" in run.stdout
    assert "job #" in run.stdout and "hybrid × native × 4" in run.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--workers", "6", "--threads", "4"],
         "threads: must divide workers: 6 workers = ranks × threads, and 4 does not divide 6"),
        (["--backend", "mpi", "--workers", "2", "--threads", "2"],
         "threads: threads per rank is for the hybrid backend; mpi runs 2 workers"),
    ],
)  # fmt: skip
def test_the_remote_cli_says_why_threads_are_refused(live_server, team_setup, args, message):
    token = token_create(user=team_setup["alice"], name="cli")[1]
    run = cli(*args, url=live_server.url, token=token)
    assert run.returncode == 2
    assert one_line(run.stderr) == f"paralab: error: the server refused the request: {message}"
    assert not Job.objects.exists()
