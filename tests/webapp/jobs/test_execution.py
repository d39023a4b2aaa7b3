"""What a worker does with a job's row: runs it as stored, its request checked once when it was submitted."""

from __future__ import annotations

import pytest

from tests.validation_log import log_validations
from webapp.jobs.execution import job_execute
from webapp.jobs.models import Job, Status
from webapp.jobs.services import validate_request

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_worker_runs_a_rows_cleaned_params_without_checking_them_again(team_setup, monkeypatch, tmp_path):
    fields = {"workload": "mandelbrot", "backend": "mpi", "implementation": "python", "workers": 2}
    params = validate_request(params={"width": "24", "height": 16}, **fields)  # job_submit's check, at the edge
    assert params["width"] == 24 and params["max_iter"] == 256  # the row keeps them cleaned, defaults filled in
    # A queued row that no message announces, as job_submit writes it: the suite's worker must not take it first.
    job = Job.objects.create(team=team_setup["team_a"], submitted_by=team_setup["alice"], params=params, **fields)
    log = log_validations(monkeypatch, tmp_path)
    assert job_execute(job.pk)
    job.refresh_from_db()
    assert (job.status, job.verified) == (Status.SUCCEEDED, True), job.error
    assert log.programs("engine") == ["kernels.isolated"]  # the engine's process was watched,
    assert log.programs("started").count("kernels.mpi.units") == 2  # and so were both ranks
    assert log.validations() == []  # not the worker, the engine's process, nor either rank
