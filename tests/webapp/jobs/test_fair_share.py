"""The fair-share rule on database rows: round robin between teams, first come first served within one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from webapp.jobs.fair_share import job_next_in_turn, queue_in_turn
from webapp.jobs.models import Job, Status
from webapp.teams.services import team_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def teams(team_setup, make_user):
    carol = make_user("carol")
    return {"A": team_setup["team_a"], "B": team_setup["team_b"], "C": team_create(name="Team C", owner=carol)}


def queue(teams, spec: str, *, capability: str = "cpu", status: str = Status.QUEUED) -> list[Job]:
    """One job per letter (its team), queued a second apart in that order."""
    start = timezone.now() - timedelta(hours=1)
    jobs = []
    for n, letter in enumerate(spec):
        team = teams[letter]
        job = Job.objects.create(team=team, submitted_by=team.memberships.first().user, workload="fib",
                                 backend="sequential", implementation="python", capability=capability, status=status)  # fmt: skip
        Job.objects.filter(pk=job.pk).update(queued_at=start + timedelta(seconds=n))
        jobs.append(job)
    return jobs


def letters(teams, order) -> str:
    names = {team.pk: letter for letter, team in teams.items()}
    return "".join(names[job.team_id] for job in order)


def test_teams_take_turns_and_each_team_keeps_its_own_order(teams):
    jobs = queue(teams, "AAAAAABCC")
    order = queue_in_turn(capability="cpu")
    assert letters(teams, order) == "ABCACAAAA"
    a_ids = [job.id for job in order if job.team_id == teams["A"].pk]
    assert a_ids == sorted(a_ids)
    assert job_next_in_turn(capability="cpu") == jobs[0].pk


def test_a_team_that_was_served_while_others_waited_goes_after_them(teams):
    backlog = queue(teams, "AAAAB")
    # A's first job started while A's others and B's waited: A has had its turn.
    Job.objects.filter(pk=backlog[0].pk).update(status=Status.SUCCEEDED, started_at=timezone.now())
    assert job_next_in_turn(capability="cpu") == backlog[4].pk


def test_running_jobs_count_however_long_ago_they_started(teams):
    queue(teams, "AA", status=Status.RUNNING)  # long-running, started before anything now waiting
    Job.objects.filter(team=teams["A"]).update(started_at=timezone.now() - timedelta(days=1))
    waiting = queue(teams, "AAB")
    assert letters(teams, queue_in_turn(capability="cpu")) == "BAA"
    assert job_next_in_turn(capability="cpu") == waiting[2].pk


def test_queues_are_served_separately(teams):
    queue(teams, "AAA", capability="study")
    cpu = queue(teams, "B")
    assert letters(teams, queue_in_turn(capability="study")) == "AAA"
    assert job_next_in_turn(capability="cpu") == cpu[0].pk
    assert job_next_in_turn(capability="mpi") is None
