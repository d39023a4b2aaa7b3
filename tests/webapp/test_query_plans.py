"""The indexes made for a query can serve it: PostgreSQL's EXPLAIN of the SQL each selector really sends.

An index whose expression or columns drift from its query's is never used, and nothing else says so: these
fail instead. PostgreSQL only (job_log_search is PostgreSQL's; SQLite's planner is not the one that matters).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from webapp.jobs.fair_share import job_next_in_turn
from webapp.jobs.models import Job, Status
from webapp.search.selectors import log_search

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the plans that matter are PostgreSQL's"),
]


def plans(call: Callable[[], object]) -> list[str]:
    """EXPLAIN of each query ``call`` sends, sequential scans priced out: a test's few rows would otherwise
    be read whole whatever indexes there are."""
    with CaptureQueriesContext(connection) as sent:
        call()
    found = []
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # the test's transaction only
        for query in sent.captured_queries:
            cursor.execute(f"EXPLAIN {query['sql']}")
            found.append("\n".join(row[0] for row in cursor.fetchall()))
    return found


def job(team_setup, **fields) -> Job:
    return Job.objects.create(team=team_setup["team_a"], submitted_by=team_setup["alice"], workload="fib",
                              params={"ns": [5]}, backend="sequential", implementation="python", **fields)  # fmt: skip


def test_the_log_search_looks_a_rare_word_up_in_the_gin_index(team_setup):
    job(team_setup, log=["rank 3: segfault in kernel"], status=Status.FAILED, error="MPI rank 3 died")
    Job.objects.bulk_create(
        Job(team=team_setup["team_a"], submitted_by=team_setup["alice"], workload="fib", params={"ns": [n]},
            backend="sequential", implementation="python", log=[f"unit {n} done", "rank 0 finished"])
        for n in range(300)
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE jobs_job")  # the index's statistics say the word is rare; a common one walks job_recent
    [search] = [plan for plan in plans(lambda: log_search(user=team_setup["alice"], query="segfault"))
                if "to_tsvector" in plan]  # fmt: skip
    assert "Bitmap Index Scan on job_log_search" in search, search


def test_the_fair_share_turn_reads_the_queue_and_the_started_jobs_from_their_indexes(team_setup):
    now = timezone.now()
    job(team_setup, capability="cpu")
    job(team_setup, capability="cpu", status=Status.SUCCEEDED, started_at=now - timedelta(minutes=5))
    waiting, started = plans(lambda: job_next_in_turn(capability="cpu"))
    assert "job_queued_in_turn" in waiting, waiting
    assert "job_started_on_queue" in started, started
