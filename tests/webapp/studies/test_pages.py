"""The study pages without JavaScript: list and preset button, new-study form, the study page's tables and
explanations, cancel, compare; viewers and other teams."""

from __future__ import annotations

import json
import re

import pytest

from webapp.jobs.models import Job, Status
from webapp.studies.models import Study

pytestmark = pytest.mark.django_db

TIMES = {
    ("sequential", "python", 1): [2.0],
    ("processes", "python", 1): [2.1],
    ("processes", "python", 2): [1.25],
}


def test_the_preset_is_one_click_for_a_member(team_setup, client_for, settings):
    settings.PARALAB_MAX_WORKERS = (
        2  # default workers are 1..cores, capped here so the test does not depend on the host
    )
    page = client_for(team_setup["bob"]).get("/studies/")
    html = page.content.decode()
    assert "fib [38..33]: sequential vs threads vs processes vs subprocesses vs native vs MPI" in html
    assert 'action="/studies/presets/seed-fib/"' in html and "Run this study</button>" in html

    response = client_for(team_setup["bob"]).post("/studies/presets/seed-fib/", {"team": "team-a"})
    study = Study.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/studies/{study.pk}/"
    assert study.preset == "seed-fib" and study.created_by == team_setup["bob"]
    assert study.runs.count() == (2 + 4 * 2 * 2) * 3


def test_a_viewer_sees_a_disabled_button_and_cannot_start(team_setup, client_for):
    vera = client_for(team_setup["vera"])
    html = vera.get("/studies/").content.decode()
    assert "Run this study</button>" in html and re.search(r"<button type=\"submit\" disabled>Run this study", html)
    assert "you cannot start studies" in html
    assert vera.post("/studies/presets/seed-fib/", {"team": "team-a"}).status_code == 403
    assert client_for(team_setup["mallory"]).post("/studies/presets/seed-fib/", {"team": "team-a"}).status_code == 404
    assert not Study.objects.exists()


def test_new_study_form_creates_a_study_and_shows_the_services_errors(team_setup, client_for):
    bob = client_for(team_setup["bob"])
    form = bob.get("/studies/new/?workload=fib").content.decode()
    assert 'name="params.ns"' in form and 'name="backends"' in form and 'name="repetitions"' in form
    base = {"workload": "fib", "team": "team-a", "params.ns": "22,21", "backends": ["processes"],
            "implementations": ["python"], "workers": "1,2", "repetitions": "1"}  # fmt: skip
    bad = bob.post("/studies/new/", {**base, "params.ns": "22,99"}).content.decode()
    assert "must be 1 to 64 integers, each between 1 and 40, got 99" in bad
    bad = bob.post("/studies/new/", {**base, "workers": "1,0"}).content.decode()
    assert "must be 1 to 64 integers, each between 1 and 8, got 0" in bad
    bad = bob.post("/studies/new/", {**base, "implementations": []}).content.decode()
    assert "This field is required." in bad
    assert not Study.objects.exists()
    response = bob.post("/studies/new/", base)
    study = Study.objects.get()
    assert response["Location"] == f"/studies/{study.pk}/"
    assert (study.params, study.workers, study.repetitions) == ({"ns": [22, 21]}, [1, 2], 1)


def test_the_study_page_shows_the_scaling_table_charts_and_why_jobs_run_alone(
    team_setup, client_for, make_study, finish_study
):
    study = make_study(user=team_setup["alice"], team=team_setup["team_a"])
    finish_study(study, TIMES)
    html = client_for(team_setup["vera"]).get(f"/studies/{study.pk}/").content.decode()
    assert "Why the jobs run one at a time" in html and "runs a single job at a time" in html
    row = re.search(r'<tr data-series="processes × python" data-workers="2">.*?</tr>', html, re.S).group(0)
    assert "1.250 s" in row and "1.60×" in row  # 2.0 / 1.25
    assert "0.80" in row  # efficiency
    assert "Amdahl fit: serial fraction f = " in html
    assert 'canvas data-chart="speedup"' in html and 'canvas data-chart="time"' in html
    assert f'href="/api/v1/studies/{study.pk}/chart.svg?chart=speedup"' in html
    assert f'href="/api/v1/studies/{study.pk}/export.csv?table=summary"' in html
    assert "Cancel the study" not in html  # finished, and vera is a viewer anyway
    data = json.loads(re.search(r'<script id="study-data" type="application/json">(.*?)</script>', html, re.S).group(1))
    assert data["status"] == "succeeded" and data["series"][1]["points"][1]["speedup"] == pytest.approx(1.6)
    assert "vendor/chart.js/chart.umd.js" in html and "js/study_live.js" in html


def test_a_running_study_reloads_without_javascript_and_can_be_cancelled(team_setup, client_for, make_study):
    study = make_study(user=team_setup["alice"], team=team_setup["team_a"])
    alice = client_for(team_setup["alice"])
    html = alice.get(f"/studies/{study.pk}/").content.decode()
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in html
    assert "waiting for the study worker" in html and "Cancel the study" in html
    response = alice.post(f"/studies/{study.pk}/cancel/", follow=True)
    assert "cancelled 3 jobs not yet ended" in response.content.decode()
    assert set(Job.objects.values_list("status", flat=True)) == {Status.CANCELLED}


def test_another_teams_study_is_404_and_the_list_is_scoped(team_setup, client_for, make_study):
    study = make_study(user=team_setup["alice"], team=team_setup["team_a"])
    mallory = client_for(team_setup["mallory"])
    assert mallory.get(f"/studies/{study.pk}/").status_code == 404
    assert mallory.post(f"/studies/{study.pk}/cancel/").status_code == 404
    assert f'href="/studies/{study.pk}/"' not in mallory.get("/studies/").content.decode()
    assert f'href="/studies/{study.pk}/"' in client_for(team_setup["bob"]).get("/studies/").content.decode()
    assert client_for(team_setup["vera"]).post(f"/studies/{study.pk}/cancel/").status_code == 403


def test_compare_page_marks_what_differs(team_setup, client_for, make_job):
    alice, team_a = team_setup["alice"], team_setup["team_a"]
    a = make_job(user=alice, team=team_a, status=Status.SUCCEEDED, wall_time=2.0, verified=True,
                 provenance={"host": "h1", "python": "3.11.2"})  # fmt: skip
    b = make_job(user=alice, team=team_a, backend="processes", workers=2, status=Status.SUCCEEDED, wall_time=1.0,
                 verified=False, provenance={"host": "h2", "python": "3.11.2"})  # fmt: skip
    html = client_for(alice).get(f"/compare/?jobs={a.pk},{b.pk}").content.decode()
    assert '<tr class="differs" data-row="host"><th scope="row">host</th><td>h1</td><td>h2</td></tr>' in html
    assert '<tr data-row="python">' in html
    assert "2.00×" in html and "NOT verified" in html
    one = client_for(alice).get(f"/compare/?jobs={a.pk}").content.decode()
    assert "Add at least one more id" in one and f'value="{a.pk}"' in one
    assert client_for(alice).get("/compare/?jobs=1,x").status_code == 400
    assert client_for(team_setup["mallory"]).get(f"/compare/?jobs={a.pk},{b.pk}").status_code == 404
    assert "Compare side by side" in client_for(alice).get("/compare/").content.decode()


def test_the_nav_links_to_studies(team_setup, client_for):
    assert 'href="/studies/">Studies</a>' in client_for(team_setup["bob"]).get("/").content.decode()


def test_the_history_page_downloads_its_filtered_jobs(team_setup, client_for, make_job):
    alice, team_a = team_setup["alice"], team_setup["team_a"]
    done = make_job(user=alice, team=team_a, status=Status.SUCCEEDED, wall_time=1.0, verified=True)
    make_job(user=alice, team=team_a, status=Status.FAILED)
    browser = client_for(alice)
    html = browser.get("/jobs/?status=succeeded").content.decode()
    link = re.search(r'<a href="(/api/v1/exports/jobs\.csv\?[^"]*)" download>CSV</a>', html).group(1)
    assert link == "/api/v1/exports/jobs.csv?status=succeeded"
    response = browser.get(link)  # the page's session is enough: no token needed
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert len(lines) == 2 and lines[1].startswith(f"{done.pk},team-a,alice,fib,")
    assert 'href="/api/v1/exports/jobs.json?status=succeeded" download>JSON</a>' in html
