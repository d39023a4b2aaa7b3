"""The study pages without JavaScript: list and preset button, new-study form, the study page's tables and
explanations, cancel, compare; viewers and other teams."""

from __future__ import annotations

import json
import re

import pytest

from webapp.jobs.models import Job, Status
from webapp.studies import services
from webapp.studies.models import Study

pytestmark = pytest.mark.django_db

TIMES = {
    ("sequential", "python", 1): [2.0],
    ("processes", "python", 1): [2.1],
    ("processes", "python", 2): [1.25],
}


@pytest.mark.parametrize("cores", [1, 2, 3, 4, 8, 16, 64, 128])
def test_the_preset_is_one_click_for_a_member_on_any_machine(team_setup, client_for, settings, monkeypatch, cores):
    # Before: workers 1..cores made 102 jobs at 4 cores (198 at 8), over the team limit of 100; the refusal
    # was a redirect back to this list, which the test took for success.
    settings.PARALAB_MAX_WORKERS = 256
    monkeypatch.setattr(services, "machine_cores", lambda: cores)
    page = client_for(team_setup["bob"]).get("/studies/")
    html = page.content.decode()
    assert "fib [38..33]: sequential vs threads vs processes vs subprocesses vs native vs MPI" in html
    assert 'action="/studies/presets/seed-fib/"' in html and "Run this study</button>" in html
    planned = int(re.search(r'<strong data-field="job-count">(\d+) jobs</strong>', html).group(1))
    assert f'This study makes <strong data-field="job-count">{planned} jobs</strong>' in html
    assert 'your team can queue <strong data-field="team-room">100 more</strong>' in html
    assert "(a team may have at most 100 jobs queued or running)" in html

    response = client_for(team_setup["bob"]).post("/studies/presets/seed-fib/", {"team": "team-a"})
    study = Study.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/studies/{study.pk}/"
    assert study.preset == "seed-fib" and study.created_by == team_setup["bob"]
    assert study.runs.count() == planned <= 100
    assert study.workers[0] == 1 and study.workers[-1] == cores


def test_a_preset_that_does_not_fit_says_so_before_and_after_the_click(team_setup, client_for, settings, make_study,
                                                                      monkeypatch):  # fmt: skip
    monkeypatch.setattr(services, "machine_cores", lambda: 4)  # the preset makes 78 jobs
    settings.PARALAB_TEAM_MAX_ACTIVE = 80
    make_study(user=team_setup["alice"], team=team_setup["team_a"])  # 3 jobs queued: 77 more may be queued
    bob = client_for(team_setup["bob"])
    html = bob.get("/studies/").content.decode()
    assert 'your team can queue <strong data-field="team-room">77 more</strong>' in html
    assert "Team A can queue only 77 more jobs now, fewer than this study's 78" in html

    response = bob.post("/studies/presets/seed-fib/", {"team": "team-a"})
    assert response.status_code == 429  # shown on the page, not a redirect that looks like success
    html = response.content.decode()
    error = re.search(r'<p class="errorlist" role="alert" data-field="preset-error">(.*?)</p>', html).group(1)
    assert error.startswith(
        "Not started: Team A already has 3 queued or running jobs and its limit is 80; 78 more would pass it"
    )
    assert Study.objects.count() == 1


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


def test_new_study_form_says_how_many_jobs_before_and_refuses_visibly(team_setup, client_for, settings, monkeypatch,
                                                                      make_study):  # fmt: skip
    settings.PARALAB_MAX_WORKERS = 256
    monkeypatch.setattr(services, "machine_cores", lambda: 64)
    bob = client_for(team_setup["bob"])
    form = bob.get("/studies/new/?workload=fib").content.decode()
    # Defaults: threads and processes × python over 1, 2, 4, …, 64 (7 counts), plus the baseline, 3 times.
    assert 'placeholder="1, 2, 4, 8, 16, 32, 64"' in form and "up to 64 (the cores of this machine)" in form
    assert 'This study makes <strong data-field="job-count">45 jobs</strong> (workers 1, 2, 4, 8, 16, 32, 64;' in form
    assert 'your team can queue <strong data-field="team-room">100 more</strong>' in form

    settings.PARALAB_TEAM_MAX_ACTIVE = 40
    make_study(user=team_setup["alice"], team=team_setup["team_a"])  # 3 of the 40
    asked = {"workload": "fib", "team": "team-a", "params.ns": "22,21", "backends": ["threads", "processes"],
             "implementations": ["python"], "workers": "", "repetitions": "3"}  # fmt: skip
    response = bob.post("/studies/new/", asked)
    assert response.status_code == 200  # the form again, with why
    html = response.content.decode()
    # The default sweep is thinned to fit the limit of 40 (6 counts: 39 jobs), but the team has room for 37.
    assert 'This study makes <strong data-field="job-count">39 jobs</strong> (workers 1, 2, 4, 16, 32, 64;' in html
    assert "Team A can queue only 37 more jobs now, fewer than this study's 39" in html
    assert "Team A already has 3 queued or running jobs and its limit is 40; 39 more would pass it" in html
    assert Study.objects.count() == 1
    response = bob.post("/studies/new/", {**asked, "workers": "1,64"})  # 3 × (1 + 2 × 2) = 15 jobs fit
    assert response.status_code == 302 and Study.objects.count() == 2


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
    assert "fewer than 3 worker counts: no Amdahl fit" in html
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


def test_compare_shows_speedups_only_for_the_same_work_and_says_why_otherwise(team_setup, client_for, make_job):
    # In the field: "speedup vs job #1: 166.54×" between fib [38..33] and fib [30].
    alice, team_a = team_setup["alice"], team_setup["team_a"]
    done = {"status": Status.SUCCEEDED, "verified": True}
    seed = make_job(user=alice, team=team_a, params={"ns": [38, 37, 36, 35, 34, 33]}, wall_time=33.3, **done)
    same = make_job(user=alice, team=team_a, params={"ns": [38, 37, 36, 35, 34, 33]}, backend="processes",
                    workers=2, wall_time=16.65, **done)  # fmt: skip
    small = make_job(user=alice, team=team_a, params={"ns": [30]}, wall_time=0.2, **done)
    native = make_job(user=alice, team=team_a, params={"ns": [38, 37, 36, 35, 34, 33]}, implementation="native",
                      wall_time=0.5, **done)  # fmt: skip
    other = make_job(user=alice, team=team_a, workload="primes", params={"n": 1000}, wall_time=0.1, **done)
    html = client_for(alice).get(f"/compare/?jobs={seed.pk},{same.pk},{small.pk},{native.pk},{other.pk}")
    html = html.content.decode()
    row = re.search(r'<tr><th scope="row">speedup vs job #\d+</th>(.*?)</tr>', html, re.S).group(1)
    assert (
        re.findall(r'<td class="num"[^>]*>(.*?)</td>', row)
        == ["1.00×", "2.00×"] + ['<span class="muted">not comparable</span>'] * 3
    )
    assert (
        f"No speedup for job #{small.pk}: job #{small.pk} ran fib with ns=[30] and job #{seed.pk} with "
        "ns=[38..33]: times are not comparable." in html
    )
    assert (
        f"No speedup for job #{native.pk}: job #{native.pk} ran the native implementation and job #{seed.pk} the "
        "python one: the ratio would mix the kernel&#x27;s speed with the parallelism." in html
    )
    assert f"job #{other.pk} ran primes and job #{seed.pk} fib: times are not comparable." in html
    assert "166" not in row


def test_compare_page_marks_what_differs(team_setup, client_for, make_job):
    alice, team_a = team_setup["alice"], team_setup["team_a"]
    a = make_job(user=alice, team=team_a, status=Status.SUCCEEDED, wall_time=2.0, verified=True,
                 provenance={"host": "h1", "python": "3.11.2"})  # fmt: skip
    b = make_job(user=alice, team=team_a, backend="processes", workers=2, status=Status.SUCCEEDED, wall_time=1.0,
                 verified=False, provenance={"host": "h2", "python": "3.11.2"})  # fmt: skip
    html = client_for(alice).get(f"/compare/?jobs={a.pk},{b.pk}").content.decode()
    assert '<tr class="differs" data-row="host"><th scope="row">Host</th><td>h1</td><td>h2</td></tr>' in html
    assert '<tr data-row="python">' in html
    assert "verification failed" in html  # job b failed verification: its time is no speedup
    assert f"No speedup for job #{b.pk}: job #{b.pk} failed verification: its time is not a result." in html
    assert "2.00×" not in html
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


def test_the_study_page_shows_intervals_a_fit_with_its_residual_and_leaves_disturbed_runs_out(
    team_setup, client_for, make_study, finish_study
):
    from webapp.jobs.models import Job

    study = make_study(user=team_setup["alice"], team=team_setup["team_a"], params={"ns": [22, 21, 20, 19]},
                       backends=["processes", "threads"], workers=[1, 2, 4], repetitions=3)  # fmt: skip
    times = {
        ("sequential", "python", 1): [2.0, 2.05, 1.95],
        ("processes", "python", 1): [2.1, 2.0, 2.05],
        ("processes", "python", 2): [1.1, 1.05, 3.9],  # the third lost its core to another program
        ("processes", "python", 4): [0.65, 0.6, 0.62],
        ("threads", "python", 1): [2.0, 2.1, 2.05],
        ("threads", "python", 2): [1.8, 2.3, 2.1],  # the GIL: within the noise of 1×
        ("threads", "python", 4): [2.0, 2.2, 1.9],
    }
    finish_study(study, times)
    disturbed = study.runs.get(job__backend="processes", job__workers=2, repetition=3).job_id
    Job.objects.filter(pk=disturbed).update(measurement={"disturbed": "its units got 40% of the CPU"})

    html = client_for(team_setup["vera"]).get(f"/studies/{study.pk}/").content.decode()
    two = re.search(r'<tr data-series="processes × python" data-workers="2">.*?</tr>', html, re.S).group(0)
    assert "1 disturbed run left out" in two and "1.075 s" in two  # the median of the two clean runs
    threads = re.search(r'<tr data-series="threads × python" data-workers="2">.*?</tr>', html, re.S).group(0)
    assert "no clear speedup" in threads
    assert re.search(
        r"Amdahl fit over 3 worker counts: serial fraction f = [0-9.]+, T1 = .*?, residual \d+% of T1", html
    )
    assert "Time, median (95% CI)" in html
