"""The studies API with real tokens: create (and presets), the document with its analysis, scoping, cancel,
exports of a study and of a job list, the SVG chart and comparisons."""

from __future__ import annotations

import csv
import io
import json
import statistics
import xml.etree.ElementTree as ET
from datetime import datetime

import pytest

from kernels.registry import BACKENDS
from webapp.jobs.models import Job, Status
from webapp.studies import services
from webapp.studies.models import Study

pytestmark = pytest.mark.django_db

TIMES = {
    ("sequential", "python", 1): [2.0, 2.2, 1.9],
    ("processes", "python", 1): [2.1, 2.3, 2.2],
    ("processes", "python", 2): [1.2, 1.1, 1.3],
}


@pytest.fixture
def alice_api(team_setup, api_client_for):
    return api_client_for(team_setup["alice"])


@pytest.fixture
def finished_study(team_setup, make_study, finish_study):
    study = make_study(user=team_setup["alice"], team=team_setup["team_a"], repetitions=3)
    finish_study(study, TIMES)
    return study


def test_create_returns_the_study_document_with_its_queued_jobs(alice_api):
    body = {"workload": "fib", "params": {"ns": [22, 21]}, "backends": ["processes"], "workers": [1, 2],
            "repetitions": 2, "title": "tiny"}  # fmt: skip
    response = alice_api.post("/api/v1/studies/", body, format="json")
    assert response.status_code == 201, response.content
    doc = response.json()
    assert doc["title"] == "tiny" and doc["team"] == "team-a" and doc["created_by"] == "alice"
    assert doc["backends"] == ["sequential", "processes"] and doc["implementations"] == ["python"]
    assert doc["status"] == "queued"
    assert doc["progress"] == {"total": 6, "finished": 0, "queued": 6, "running": 0, "succeeded": 0, "failed": 0,
                               "cancelled": 0}  # fmt: skip
    assert [(r["repetition"], r["backend"], r["workers"]) for r in doc["runs"]] == [
        (1, "sequential", 1), (1, "processes", 1), (1, "processes", 2),
        (2, "sequential", 1), (2, "processes", 1), (2, "processes", 2),
    ]  # fmt: skip
    assert doc["series"] == [] and doc["current"] is None
    assert set(Job.objects.values_list("capability", flat=True)) == {"study"}


def test_a_preset_is_one_request(alice_api):
    presets = alice_api.get("/api/v1/studies/presets/").json()
    assert [p["name"] for p in presets] == ["seed-fib"]
    response = alice_api.post("/api/v1/studies/", {"preset": "seed-fib", "workers": [1, 2], "repetitions": 1},
                              format="json")  # fmt: skip
    assert response.status_code == 201, response.content
    assert response.json()["preset"] == "seed-fib"
    assert response.json()["progress"]["total"] == 18


@pytest.mark.parametrize("cores", [1, 2, 3, 4, 8, 16, 64, 128])
def test_the_preset_with_its_defaults_is_accepted_on_any_machine(alice_api, settings, monkeypatch, cores):
    # Before: workers 1..cores made 102 jobs at 4 cores and 198 at 8, over the team limit of 100 (a 429).
    settings.PARALAB_MAX_WORKERS = 256
    monkeypatch.setattr(services, "machine_cores", lambda: cores)
    [preset] = alice_api.get("/api/v1/studies/presets/").json()
    assert preset["workers"][0] == 1 and preset["workers"][-1] == cores and preset["problem"] == ""
    assert preset["jobs"] == 3 * 2 * (1 + 4 * len(preset["workers"])) <= 100
    response = alice_api.post("/api/v1/studies/", {"preset": "seed-fib"}, format="json")
    assert response.status_code == 201, response.content
    doc = response.json()
    assert doc["workers"] == preset["workers"] and doc["progress"]["total"] == preset["jobs"]


def test_a_preset_that_cannot_be_made_is_a_json_refusal_with_the_reason(alice_api, settings, monkeypatch, make_study,
                                                                       team_setup):  # fmt: skip
    monkeypatch.setattr(services, "machine_cores", lambda: 4)  # 78 jobs
    settings.PARALAB_TEAM_MAX_ACTIVE = 80
    make_study(user=team_setup["alice"], team=team_setup["team_a"])  # 3 queued: room for 77
    response = alice_api.post("/api/v1/studies/", {"preset": "seed-fib"}, format="json")
    assert response.status_code == 429
    assert response.json() == {"detail": "Team A already has 3 queued or running jobs and its limit is 80; "
                                         "78 more would pass it: wait for some to finish"}  # fmt: skip
    settings.PARALAB_TEAM_MAX_ACTIVE = 20  # even one worker count makes 30 jobs
    [preset] = alice_api.get("/api/v1/studies/presets/").json()
    assert preset["jobs"] is None and preset["problem"].startswith("repetitions: this study would run 30 jobs, more")
    response = alice_api.post("/api/v1/studies/", {"preset": "seed-fib"}, format="json")
    assert response.status_code == 400
    assert response.json()["repetitions"][0].startswith("this study would run 30 jobs, more than 20")
    assert Study.objects.count() == 1


@pytest.mark.parametrize(
    "body, expected",
    [
        ({"backends": ["processes"]}, {"workload": ["required unless a preset is given"]}),
        ({"workload": "fib"}, {"backends": ["required unless a preset is given"]}),
        ({"workload": "fib", "backends": ["processes"], "params": {"ns": [41]}},
         {"params": {"ns": ["must be 1 to 64 integers, each between 1 and 40, got 41"]}}),
        ({"workload": "fib", "backends": ["gpu"]},
         {"backends": [f"unknown backend 'gpu'; choose from {', '.join(BACKENDS)}"]}),
        ({"workload": "fib", "backends": ["processes"], "workers": [1, 99]},
         {"workers": ["must be 1 to 64 integers, each between 1 and 8, got 99"]}),
        ({"preset": "nope"}, {"preset": ['"nope" is not a valid choice.']}),
        # Before: threads with a preset was dropped without a word, and the study ran every default layout.
        ({"preset": "seed-fib", "threads": 2},
         {"threads": ["threads per rank is for hybrid runs, and preset seed-fib sets its own backends, none of them "
                      "hybrid: leave threads empty"]}),
        ({"workload": "fib", "backends": ["processes"], "team": "team-b"},
         {"team": ["you are not a member of a team 'team-b'"]}),
    ],
)  # fmt: skip
def test_bad_input_is_400_naming_the_field_and_the_reason(alice_api, body, expected):
    response = alice_api.post("/api/v1/studies/", body, format="json")
    assert response.status_code == 400
    assert response.json() == expected
    assert not Study.objects.exists()


def test_viewers_cannot_create_or_cancel_and_other_teams_see_nothing(team_setup, api_client_for, finished_study):
    vera = api_client_for(team_setup["vera"])
    response = vera.post("/api/v1/studies/", {"workload": "fib", "backends": ["processes"], "team": "team-a"},
                         format="json")  # fmt: skip
    assert response.status_code == 403
    assert vera.get(f"/api/v1/studies/{finished_study.pk}/").status_code == 200  # viewers read
    assert vera.post(f"/api/v1/studies/{finished_study.pk}/cancel/").status_code == 403

    mallory = api_client_for(team_setup["mallory"])
    assert mallory.get("/api/v1/studies/").json()["count"] == 0
    for path in ("/", "/export.csv", "/export.json", "/chart.svg"):
        response = mallory.get(f"/api/v1/studies/{finished_study.pk}{path}")
        assert response.status_code == 404, path
    assert mallory.post(f"/api/v1/studies/{finished_study.pk}/cancel/").status_code == 404
    assert mallory.get(f"/api/v1/compare/?studies={finished_study.pk},{finished_study.pk + 1}").status_code == 404
    assert mallory.get("/api/v1/exports/jobs.json").json() == []


def test_the_document_s_speedup_table_is_computed_from_the_jobs(alice_api, finished_study):
    doc = alice_api.get(f"/api/v1/studies/{finished_study.pk}/").json()
    assert doc["status"] == "succeeded" and doc["progress"]["finished"] == 9
    series = {s["label"]: s for s in doc["series"]}
    assert list(series) == ["sequential × python", "processes × python"]
    baseline = statistics.median(TIMES[("sequential", "python", 1)])
    two = series["processes × python"]["points"][1]
    assert two["workers"] == 2 and two["runs"] == 3
    assert two["median"] == pytest.approx(1.2) and (two["min"], two["max"]) == (1.1, 1.3)
    assert two["speedup"] == pytest.approx(baseline / 1.2)
    assert 1.9 / 1.3 - 1e-9 <= two["speedup_low"] < two["speedup"] < two["speedup_high"] <= 2.2 / 1.1 + 1e-9
    assert two["speedup_clear"] is True and two["low"] <= 1.2 <= two["high"]
    assert two["efficiency"] == pytest.approx(baseline / 1.2 / 2)
    assert two["karp_flatt"] == pytest.approx((1.2 / baseline - 0.5) / 0.5)
    assert series["processes × python"]["amdahl"] is None  # two worker counts cannot test a two-parameter fit
    assert doc["provenance"]["cpu_model"] == ["Test CPU"]
    assert doc["provenance"]["load_average (1 min, at start)"] == ["0.25 – 0.25"]


def test_a_run_that_failed_verification_is_marked_and_left_out(team_setup, make_study, finish_study, alice_api):
    study = make_study(user=team_setup["alice"], team=team_setup["team_a"], repetitions=3)
    bad = study.runs.order_by("id")[2].job  # processes × 2 workers, repetition 1
    finish_study(study, TIMES, verified={bad.pk: False})
    doc = alice_api.get(f"/api/v1/studies/{study.pk}/").json()
    two = doc["series"][1]["points"][1]
    assert two["runs"] == 2 and two["not_verified"] == 1
    assert two["median"] == pytest.approx(statistics.median(TIMES[("processes", "python", 2)][1:]))
    assert [r["counted"] for r in doc["runs"] if r["job"] == bad.pk] == [False]


def test_cancel_through_the_api(alice_api, team_setup, make_study):
    study = make_study(user=team_setup["alice"], team=team_setup["team_a"])
    doc = alice_api.post(f"/api/v1/studies/{study.pk}/cancel/").json()
    assert doc["status"] == "cancelled" and doc["progress"]["cancelled"] == 3


def test_study_csv_and_json_exports_match_the_database(alice_api, finished_study):
    response = alice_api.get(f"/api/v1/studies/{finished_study.pk}/export.csv?table=jobs")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert f'filename="study-{finished_study.pk}-jobs-' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    jobs = {job.pk: job for job in Job.objects.filter(study_run__study=finished_study)}
    assert sorted(int(row["job"]) for row in rows) == sorted(jobs)
    baseline = statistics.median(TIMES[("sequential", "python", 1)])
    for row in rows:
        job = jobs[int(row["job"])]
        assert (row["backend"], row["implementation"], int(row["workers"])) == (
            job.backend,
            job.implementation,
            job.workers,
        )
        assert float(row["wall_time"]) == job.wall_time and row["status"] == job.status == "succeeded"
        assert float(row["speedup"]) == pytest.approx(baseline / job.wall_time)
        assert int(row["repetition"]) == job.study_run.repetition

    summary = alice_api.get(f"/api/v1/studies/{finished_study.pk}/export.csv?table=summary")
    table = list(csv.DictReader(io.StringIO(b"".join(summary.streaming_content).decode())))
    assert [(r["backend"], r["workers"]) for r in table] == [
        ("sequential", "1"),
        ("processes", "1"),
        ("processes", "2"),
    ]
    assert float(table[2]["median_s"]) == pytest.approx(1.2) and float(table[2]["speedup"]) == pytest.approx(
        baseline / 1.2
    )

    exported = json.loads(alice_api.get(f"/api/v1/studies/{finished_study.pk}/export.json").content)
    assert exported == alice_api.get(f"/api/v1/studies/{finished_study.pk}/").json()
    assert {r["job"]: r["wall_time"] for r in exported["runs"]} == {pk: job.wall_time for pk, job in jobs.items()}
    assert alice_api.get(f"/api/v1/studies/{finished_study.pk}/export.csv?table=x").status_code == 400
    assert alice_api.get(f"/api/v1/studies/{finished_study.pk}/export.xml").status_code == 404


def test_a_csv_download_ignores_the_accept_header(alice_api, finished_study):
    response = alice_api.get(f"/api/v1/studies/{finished_study.pk}/export.csv", HTTP_ACCEPT="text/csv")
    assert response.status_code == 200


def test_the_svg_chart_is_drawn_from_the_numbers(alice_api, finished_study):
    response = alice_api.get(f"/api/v1/studies/{finished_study.pk}/chart.svg")
    assert response.status_code == 200 and response["Content-Type"].startswith("image/svg+xml")
    root = ET.fromstring(response.content)
    ns = "{http://www.w3.org/2000/svg}"
    groups = {g.get("data-series") for g in root.iter(f"{ns}g")}
    assert {"ideal (S = p)", "processes × python"} <= groups
    assert not any("Amdahl" in (label or "") for label in groups)  # two worker counts: no fit to draw
    assert root.find(f"{ns}title").text == "Speedup vs workers"
    for chart in ("time", "efficiency", "karp_flatt"):
        assert ET.fromstring(alice_api.get(f"/api/v1/studies/{finished_study.pk}/chart.svg?chart={chart}").content)
    assert alice_api.get(f"/api/v1/studies/{finished_study.pk}/chart.svg?chart=pie").json() == {
        "chart": ["must be one of speedup, time, efficiency, karp_flatt"]
    }


def test_job_list_exports_follow_the_filters_and_match_the_database(alice_api, team_setup, make_job):
    alice, team_a = team_setup["alice"], team_setup["team_a"]
    done = make_job(user=alice, team=team_a, status=Status.SUCCEEDED, wall_time=1.5, verified=True,
                    provenance={"host": "h1", "cpu_model": "Test CPU", "packages": {"numpy": "2"}})  # fmt: skip
    failed = make_job(user=alice, team=team_a, backend="processes", workers=2, status=Status.FAILED, error="boom")
    make_job(user=team_setup["mallory"], team=team_setup["team_b"], status=Status.SUCCEEDED, wall_time=9.0)

    response = alice_api.get("/api/v1/exports/jobs.csv")
    assert response["Content-Disposition"].startswith('attachment; filename="paralab-jobs-')
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [int(r["id"]) for r in rows] == [failed.pk, done.pk]  # newest first; team B's job is not there
    assert rows[1]["wall_time"] == "1.5" and rows[1]["verified"] == "true" and rows[1]["status"] == "succeeded"
    assert json.loads(rows[1]["params"]) == done.params
    assert rows[1]["provenance.cpu_model"] == "Test CPU"
    assert rows[0]["error"] == "boom" and rows[0]["wall_time"] == "" and rows[0]["backend"] == "processes"

    filtered = alice_api.get("/api/v1/exports/jobs.json?status=succeeded").json()
    assert [job["id"] for job in filtered] == [done.pk]
    assert filtered[0]["provenance"] == {"host": "h1", "cpu_model": "Test CPU", "packages": {"numpy": "2"}}
    assert filtered[0]["queued_at"].endswith("Z") and datetime.fromisoformat(filtered[0]["queued_at"]) == done.queued_at
    assert alice_api.get("/api/v1/exports/jobs.json?status=bogus").status_code == 400


def test_compare_jobs_and_studies(alice_api, team_setup, make_job, finished_study, make_study, finish_study):
    alice, team_a = team_setup["alice"], team_setup["team_a"]
    a = make_job(user=alice, team=team_a, params={"ns": [30]}, status=Status.SUCCEEDED, wall_time=2.0,
                 provenance={"host": "h1", "python": "3.11.2"})  # fmt: skip
    b = make_job(user=alice, team=team_a, params={"ns": [30]}, backend="processes", workers=2,
                 status=Status.SUCCEEDED, wall_time=1.0, provenance={"host": "h2", "python": "3.11.2"})  # fmt: skip
    jobs = alice_api.get(f"/api/v1/compare/?jobs={a.pk},{b.pk}").json()["jobs"]
    assert [item["speedup_vs_first"] for item in jobs["items"]] == [1.0, 2.0]
    assert [item["not_comparable"] for item in jobs["items"]] == ["", ""]
    c = make_job(user=alice, team=team_a, params={"ns": [38, 37, 36, 35, 34, 33]}, status=Status.SUCCEEDED,
                 wall_time=0.012)  # fmt: skip
    unlike = alice_api.get(f"/api/v1/compare/?jobs={c.pk},{a.pk}").json()["jobs"]["items"]
    assert [item["speedup_vs_first"] for item in unlike] == [1.0, None]  # was 0.012 / 2.0, a meaningless ratio
    assert unlike[1]["not_comparable"] == (
        f"job #{a.pk} ran fib with ns=[30] and job #{c.pk} with ns=[38..33]: times are not comparable"
    )
    rows = {row["name"]: row for row in jobs["provenance"]}
    assert rows["host"] == {"name": "host", "values": ["h1", "h2"], "differs": True}
    assert rows["python"]["differs"] is False
    assert {row["name"]: row["differs"] for row in jobs["setup"]}["backend"] is True
    assert jobs["params"] == [{"name": "ns", "values": ["30", "30"], "differs": False}]

    other = make_study(user=alice, team=team_a, repetitions=1, params={"ns": [22, 20]})
    finish_study(other, {key: [t / 2 for t in times] for key, times in TIMES.items()})
    studies = alice_api.get(f"/api/v1/compare/?studies={finished_study.pk}&studies={other.pk}").json()["studies"]
    assert [row["differs"] for row in studies["params"]] == [True]
    assert studies["not_comparable"] == [
        f"study #{other.pk} ran fib with ns=[22, 20] and study #{finished_study.pk} with ns=[22, 21]: times are not "
        "comparable across them; each speedup is against its own study's sequential run"
    ]
    assert {row["name"]: row["values"] for row in studies["setup"]}["repetitions"] == ["3", "1"]
    two = next(row for row in studies["timings"] if row["backend"] == "processes" and row["workers"] == 2)
    assert [cell["median"] for cell in two["cells"]] == [pytest.approx(1.2), pytest.approx(0.6)]

    assert alice_api.get(f"/api/v1/compare/?jobs={a.pk}").json() == {
        "jobs": ["give two or more ids to compare side by side"]
    }
    assert alice_api.get("/api/v1/compare/?jobs=1,x").json() == {"jobs": ["must be ids separated by commas, got 'x'"]}


def test_the_running_job_and_its_unit_progress_are_in_the_document(alice_api, team_setup, make_study):
    from webapp.jobs.services import job_transition

    study = make_study(user=team_setup["alice"], team=team_setup["team_a"])
    first = study.runs.order_by("id").first().job
    assert job_transition(job_id=first.pk, to=Status.RUNNING, progress={"done": 1, "total": 2, "seq": 4})
    doc = alice_api.get(f"/api/v1/studies/{study.pk}/").json()
    assert doc["status"] == "running"
    assert doc["current"]["job"] == first.pk and (doc["current"]["done"], doc["current"]["total"]) == (1, 2)
    assert [(r["done"], r["total"]) for r in doc["runs"]] == [(1, 2), (0, 0), (0, 0)]
