"""Fair share on a real worker: one team's backlog does not starve another team's job on the same queue.

Team A queues a backlog, then team B queues one job; a single worker (concurrency 1, as `make run`
starts it) is started only then, so every message is already in the queue in submission order
(FIFO would run B's job last). B's job must start within the next two job slots.
"""

from __future__ import annotations

import os

import pytest

from webapp.jobs.models import Job
from webapp.jobs.services import job_submit

pytestmark = pytest.mark.django_db(transaction=True)

PREFIX = os.environ["PARALAB_QUEUE"] + "-fair"  # a queue prefix of this module's own: no other worker takes these
BACKLOG = 12


@pytest.fixture(autouse=True)
def own_queues(settings):
    settings.CELERY_TASK_DEFAULT_QUEUE = PREFIX


def submit(user, team, n: int) -> Job:
    return job_submit(user=user, team=team, workload="fib", params={"ns": [n]}, backend="sequential",
                      implementation="python", workers=1)  # fmt: skip


def test_one_teams_backlog_does_not_starve_another_teams_job(team_setup, worker_factory, wait_for_status):
    alice, mallory = team_setup["alice"], team_setup["mallory"]
    backlog = [submit(alice, team_setup["team_a"], 24) for _ in range(BACKLOG)]
    theirs = submit(mallory, team_setup["team_b"], 24)

    worker_factory("fair-worker", queues=[f"{PREFIX}.cpu"], PARALAB_QUEUE=PREFIX)
    wait_for_status(theirs.pk, ("succeeded",), timeout=60)
    for job in backlog:
        wait_for_status(job.pk, ("succeeded",), timeout=60)

    order = list(Job.objects.filter(pk__in=[j.pk for j in [*backlog, theirs]]).order_by("started_at", "pk"))
    teams = "".join("B" if job.team_id == team_setup["team_b"].pk else "A" for job in order)
    # A's head was queued first, so A goes first; then it is B's turn, not A's next eleven.
    assert teams.index("B") <= 1, f"order of starts: {teams}"
    # Within a team, first queued, first served.
    a_starts = [job.pk for job in order if job.team_id == team_setup["team_a"].pk]
    assert a_starts == sorted(a_starts)
