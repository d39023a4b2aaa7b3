"""A study's jobs in the job tables: a study column and filter in the history (page and API), folded into one
line per study on the dashboard; queue times with seconds; no "unchecked" badge before a job has succeeded."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from webapp.jobs.models import Status

pytestmark = pytest.mark.django_db


def job_ids(html: str, within: str = "") -> list[int]:
    return [int(found) for found in re.findall(r'<tr data-job-id="(\d+)"', within or html)]


@pytest.fixture
def a_study_and_a_job(team_setup, make_study, make_job):
    alice, team = team_setup["alice"], team_setup["team_a"]
    study = make_study(user=alice, team=team)  # sequential, processes × 1 and 2 workers (TINY)
    lone = make_job(user=alice, team=team, status=Status.SUCCEEDED, wall_time=1.5, verified=True)
    return study, lone


def test_the_history_names_each_jobs_study_and_filters_by_it(team_setup, client_for, a_study_and_a_job):
    study, lone = a_study_and_a_job
    client = client_for(team_setup["alice"])
    html = client.get("/jobs/").content.decode()
    study_jobs = sorted(study.runs.values_list("job_id", flat=True))
    assert sorted(job_ids(html)) == sorted([*study_jobs, lone.pk])
    row = re.search(rf'<tr data-job-id="{study_jobs[0]}".*?</tr>', html, re.S).group(0)
    assert f'<a href="/studies/{study.pk}/">study #{study.pk}</a>' in row

    filtered = client.get(f"/jobs/?study={study.pk}").content.decode()
    assert sorted(job_ids(filtered)) == study_jobs
    assert f"{len(study_jobs)} jobs match these filters" in filtered
    assert client.get("/jobs/?study=abc").content.decode().count("Enter a number.") == 1


def test_the_api_filters_jobs_by_study(team_setup, api_client_for, a_study_and_a_job):
    study, lone = a_study_and_a_job
    api = api_client_for(team_setup["alice"])
    body = api.get(f"/api/v1/jobs/?study={study.pk}").json()
    results = body["results"] if isinstance(body, dict) else body
    assert sorted(job["id"] for job in results) == sorted(study.runs.values_list("job_id", flat=True))
    bad = api.get("/api/v1/jobs/?study=abc")
    assert bad.status_code == 400 and bad.json() == {"study": ["Enter a number."]}


def test_the_dashboard_folds_a_studys_jobs_into_one_line(team_setup, client_for, a_study_and_a_job):
    study, lone = a_study_and_a_job
    client = client_for(team_setup["alice"])
    with CaptureQueriesContext(connection) as queries:
        html = client.get("/").content.decode()
    fold = re.search(rf'<details class="study-fold" data-study-fold="{study.pk}">.*?</details>', html, re.S).group(0)
    total = study.runs.count()
    assert f"0/{total} jobs finished" in fold and f'href="/studies/{study.pk}/"' in fold
    assert sorted(job_ids(html, fold)) == sorted(study.runs.values_list("job_id", flat=True))  # expandable
    jobs_table = html[html.index("</section>") :]
    assert job_ids(html, jobs_table) == [lone.pk]  # the study's jobs are not rows of the jobs table
    # one query for the jobs, one for the studies, one for the studies' jobs: not one per study or per row
    assert len(queries) < 12, [q["sql"] for q in queries]


def test_queued_at_has_seconds_and_only_a_succeeded_job_can_be_unchecked(team_setup, client_for, make_job):
    alice, team = team_setup["alice"], team_setup["team_a"]
    queued = make_job(user=alice, team=team)
    failed = make_job(user=alice, team=team, status=Status.FAILED, error="boom")
    unchecked = make_job(user=alice, team=team, status=Status.SUCCEEDED, wall_time=1.0, verified=None)
    html = client_for(alice).get("/jobs/").content.decode()

    def row(job):
        return re.search(rf'<tr data-job-id="{job.pk}".*?</tr>', html, re.S).group(0)

    assert "unchecked" not in row(queued) and "unchecked" not in row(failed)
    assert 'class="badge unchecked"' in row(unchecked)
    assert queued.queued_at.strftime("%Y-%m-%d %H:%M:%S") in row(queued)
