"""A queued job's place in its queue (page and API), and each queue's depth on the workers page and API.

The study queue has no worker here (the module's worker serves cpu and mpi only), so nothing ahead
moves while a test looks; the estimate is checked on the cpu queue against that real worker.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from webapp.jobs.models import Job, Status
from webapp.studies.services import study_create
from webapp.workers.selectors import workers_online

pytestmark = pytest.mark.django_db(transaction=True)


def make_study(user, team):
    """Two jobs per repetition (sequential and threads × 2), two repetitions: four queued study jobs."""
    return study_create(user=user, team=team, workload="fib", params={"ns": [20]}, backends=["sequential", "threads"],
                        workers=[2], repetitions=2)  # fmt: skip


def first_job(study) -> Job:
    return Job.objects.filter(study_run__study=study).order_by("queued_at", "id").first()


def page_summary(client, job_id: int) -> str:
    html = client.get(f"/jobs/{job_id}/").content.decode()
    found = re.search(r'<p class="queue-summary">(.*?)</p>', html, re.S)
    assert found, "no queue section on the page"
    return found.group(1).strip()


def test_a_job_queued_behind_a_study_shows_its_place_and_what_it_waits_behind(team_setup, client, api_client_for):
    alice, team_a = team_setup["alice"], team_setup["team_a"]
    first = make_study(alice, team_a)
    second = make_study(alice, team_a)
    job = first_job(second)

    client.force_login(alice)
    expected = (
        f"5th of 8 waiting in the study queue, behind 4 jobs of study #{first.pk} (Team A). "
        "No online worker serves the study queue: it waits until one is started."
    )
    assert page_summary(client, job.pk) == expected
    body = api_client_for(alice).get(f"/api/v1/jobs/{job.pk}/").json()
    place = body["queue"]
    assert place["summary"] == expected
    assert place["position"] == 5 and place["depth"] == 8 and place["slots"] == 0
    assert place["ahead"] == [
        {
            "count": 4,
            "team": "Team A",
            "study": first.pk,
            "job": None,
            "phrase": f"4 jobs of study #{first.pk} (Team A)",
        }
    ]
    assert place["estimate"] is None and place["estimate_note"] == "no online worker serves this queue"


def test_another_teams_study_is_counted_not_named_and_teams_take_turns(team_setup, client, api_client_for):
    make_study(team_setup["alice"], team_setup["team_a"])
    theirs = first_job(make_study(team_setup["mallory"], team_setup["team_b"]))

    client.force_login(team_setup["mallory"])
    # Fair share: Team A's head goes first (it was queued first), then it is Team B's turn.
    assert page_summary(client, theirs.pk).startswith(
        "2nd of 8 waiting in the study queue, behind 1 job of another team."
    )
    place = api_client_for(team_setup["mallory"]).get(f"/api/v1/jobs/{theirs.pk}/").json()["queue"]
    assert place["ahead"] == [{"count": 1, "team": None, "study": None, "job": None, "phrase": "1 job of another team"}]


def test_only_a_queued_jobs_own_detail_has_a_place(team_setup, api_client_for):
    alice = api_client_for(team_setup["alice"])
    study = make_study(team_setup["alice"], team_setup["team_a"])
    job = first_job(study)
    assert all(row.get("queue") is None for row in alice.get("/api/v1/jobs/").json()["results"])
    Job.objects.filter(pk=job.pk).update(status=Status.RUNNING, started_at=timezone.now())
    assert alice.get(f"/api/v1/jobs/{job.pk}/").json()["queue"] is None


def cpu_job(team, user, **fields) -> Job:
    # dispatched_at now: the worker's sweeper leaves these rows alone (they have no message of their own).
    fields = {"status": Status.QUEUED, "dispatched_at": timezone.now(), **fields}
    return Job.objects.create(team=team, submitted_by=user, workload="fib", params={"ns": [20]}, backend="sequential",
                              implementation="python", workers=1, capability="cpu", **fields)  # fmt: skip


def test_the_estimate_follows_the_stated_rule(cpu_mpi_worker, team_setup, api_client_for):
    alice, team_a = team_setup["alice"], team_setup["team_a"]
    mallory, team_b = team_setup["mallory"], team_setup["team_b"]
    workers_online(max_age=0)  # asked now (~1 s), so the request below reuses it rather than wait for it
    now = timezone.now()
    # History: such jobs took 8, 10 and 30 s from start to end (median 10 s).
    for took in (8, 10, 30):
        start = now - timedelta(minutes=5)
        cpu_job(team_a, alice, status=Status.SUCCEEDED, started_at=start, finished_at=start + timedelta(seconds=took))
    cpu_job(team_b, mallory, status=Status.RUNNING, started_at=now - timedelta(seconds=4))  # 6 s left of 10
    ahead = [cpu_job(team_a, alice) for _ in range(2)]
    job = cpu_job(team_a, alice)

    api = api_client_for(alice)
    asked = (timezone.now() - now).total_seconds()
    place = api.get(f"/api/v1/jobs/{job.pk}/").json()["queue"]
    answered = (timezone.now() - now).total_seconds()
    assert place["slots"] == 1 and place["position"] == 3
    # 2 jobs ahead × 10 s + 6 s left of the running one, over 1 slot, less the time that passed before the
    # server looked (between asked and answered: a loaded host took seconds).
    assert 26 - answered - 0.5 <= place["estimate"] <= 26 - asked + 0.5, (place, asked, answered)
    assert place["summary"] == (
        f"3rd of 3 waiting in the cpu queue, behind 2 jobs of Team A. Running now on the worker slot serving it: "
        f"1 job of another team. Expected to start in about {round(place['estimate'])} s."
    )
    assert [g["phrase"] for g in place["ahead"]] == ["2 jobs of Team A"]
    Job.objects.filter(pk__in=[j.pk for j in ahead] + [job.pk]).update(status=Status.CANCELLED)


def test_workers_page_and_api_show_each_queues_depth_and_oldest_wait(team_setup, client, api_client_for):
    alice, team_a = team_setup["alice"], team_setup["team_a"]
    make_study(alice, team_a)
    Job.objects.filter(capability="study").update(queued_at=timezone.now() - timedelta(seconds=90))

    queues = {row["capability"]: row for row in api_client_for(alice).get("/api/v1/workers/").json()["queues"]}
    assert queues["study"]["depth"] == 4 and 90 <= queues["study"]["oldest_wait"] < 100
    assert queues["cpu"]["depth"] == 0 and queues["cpu"]["oldest_wait"] is None

    client.force_login(alice)
    html = client.get("/workers/").content.decode()
    assert re.search(r'data-queue-depth="study">4</td>\s*<td class="num">1 min 3\d s</td>', html), html
