"""A worker's claim of a job: one conditional UPDATE (provenance in it) and one read of the row it then
runs and announces; an earlier attempt's lanes are cleared only when there was one."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from webapp.jobs.execution import job_execute
from webapp.jobs.models import Job, SpanBatch, Status

pytestmark = pytest.mark.django_db(transaction=True)


def run_capturing(job_id: int) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        assert job_execute(job_id)
    return [q["sql"] for q in queries.captured_queries]


def queued_job(team_setup) -> Job:
    """A queued row that no message announces: a suite worker (started by an earlier test) must not claim it first."""
    return Job.objects.create(team=team_setup["team_a"], submitted_by=team_setup["alice"], workload="fib",
                              params={"ns": [5]}, backend="sequential", implementation="python")  # fmt: skip


def test_a_claim_is_one_update_and_one_read(team_setup):
    job = queued_job(team_setup)
    sql = run_capturing(job.pk)
    claim, read, after = sql[0], sql[1], sql[2]
    assert claim.startswith('UPDATE "jobs_job"') and "'running'" in claim and '"provenance"' in claim, claim
    assert read.startswith('SELECT "jobs_job"') and '"teams_team"' in read, read
    # Before: a second UPDATE for the provenance, a DELETE of spans no first attempt has, a second read.
    assert not after.startswith(('SELECT "jobs_job"', 'DELETE FROM "jobs_spanbatch"', 'UPDATE "jobs_job" SET "prov')), (
        after
    )
    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED and job.provenance["host"] == job.worker_host and job.attempts == 1


def test_a_requeued_job_starts_its_lanes_again(team_setup):
    job = queued_job(team_setup)
    Job.objects.filter(pk=job.pk).update(attempts=1)  # requeued by the reaper after a first attempt
    SpanBatch.objects.create(job=job, first=0, spans=[{"unit": 9, "worker": 0, "start": 0.0, "end": 1.0}] * 3)
    run_capturing(job.pk)
    job.refresh_from_db()
    spans = [span for batch in SpanBatch.objects.filter(job=job) for span in batch.spans]
    assert job.attempts == 2 and job.status == Status.SUCCEEDED
    assert [span["unit"] for span in spans] == [0], "the first attempt's spans were kept"
