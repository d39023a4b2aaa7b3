"""A study over hybrid with one threads per rank for all its hybrid runs: its worker axis stays the cores
used (ranks × threads), so hybrid is compared with the other backends at the same core counts."""

import re

import pytest

from webapp.jobs.models import Job
from webapp.studies.models import Study

pytestmark = pytest.mark.django_db

IMAGE = {"width": 64, "height": 48, "max_iter": 50}
BODY = {"workload": "mandelbrot", "params": IMAGE, "backends": ["openmp", "hybrid"], "implementations": ["native"],
        "workers": [2, 4], "repetitions": 1}  # fmt: skip


@pytest.fixture
def alice_api(team_setup, api_client_for):
    return api_client_for(team_setup["alice"])


def test_a_study_gives_its_threads_per_rank_to_its_hybrid_runs_only(alice_api):
    response = alice_api.post("/api/v1/studies/", {**BODY, "threads": 2}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["threads"] == 2 and Study.objects.get().threads == 2
    jobs = sorted(Job.objects.values_list("backend", "workers", "threads"))
    assert jobs == [("hybrid", 2, 2), ("hybrid", 4, 2), ("openmp", 2, None), ("openmp", 4, None),
                    ("sequential", 1, None)]  # fmt: skip


def test_without_threads_each_hybrid_run_takes_its_default(alice_api):
    response = alice_api.post("/api/v1/studies/", BODY, format="json")
    assert response.status_code == 201 and response.json()["threads"] is None
    assert set(Job.objects.filter(backend="hybrid").values_list("threads", flat=True)) == {None}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"threads": 2, "workers": [1, 2, 3, 4]},
         "2 threads per rank must divide every worker count of the hybrid runs, and 1, 3 are not a multiple of 2: "
         "sweep multiples of 2 (e.g. 2, 4, 8)"),
        ({"threads": 4, "workers": [2, 4]},
         "4 threads per rank must divide every worker count of the hybrid runs, and 2 is not a multiple of 4: "
         "sweep multiples of 4 (e.g. 4, 8, 16)"),
        ({"threads": 2, "backends": ["openmp"]},
         "threads per rank is for hybrid runs, and this study has none: add hybrid to its backends, "
         "or leave threads empty"),
        ({"threads": 0}, "must be between 1 and 8, got 0"),
        ({"threads": "many"}, "A valid integer is required."),
    ],
)  # fmt: skip
def test_threads_that_do_not_fit_are_a_400_naming_threads(alice_api, body, reason):
    response = alice_api.post("/api/v1/studies/", {**BODY, **body}, format="json")
    assert response.status_code == 400
    assert response.json() == {"threads": [reason]}
    assert not Study.objects.exists() and not Job.objects.exists()


def study_form(**fields):
    view = {"x_min": -2.5, "x_max": 1.0, "y_min": -1.25, "y_max": 1.25}
    return {"workload": "mandelbrot", "team": "team-a", "backends": ["hybrid"], "implementations": ["native"],
            "workers": "2,4", "repetitions": 1, **{f"params.{k}": v for k, v in {**IMAGE, **view}.items()},
            **fields}  # fmt: skip


def test_the_study_form_takes_threads_and_its_page_shows_them(team_setup, client_for):
    browser = client_for(team_setup["alice"])
    page = browser.get("/studies/new/?workload=mandelbrot").content.decode()
    assert re.search(r'<input type="number" name="threads"[^>]*data-shown-with-backend="hybrid"', page)
    assert "js/threads_field.js" in page
    assert 'name="threads"' not in browser.get("/studies/new/?workload=fib").content.decode()

    refused = browser.post("/studies/new/", study_form(threads=4))
    assert refused.status_code == 200
    assert refused.context["form"].errors["threads"][0].startswith("4 threads per rank must divide every worker count")

    response = browser.post("/studies/new/", study_form(threads=2))
    assert response.status_code == 302
    study = Study.objects.get()
    assert study.threads == 2
    detail = browser.get(f"/studies/{study.pk}/").content.decode()
    assert re.search(r"<dt>Threads per rank</dt><dd>2 in every hybrid run", detail)


@pytest.mark.django_db(transaction=True)
def test_paralab_remote_study_takes_threads_and_says_why_they_are_refused(live_server, team_setup):
    from tests.webapp.studies.test_remote_cli import one_line, paralab
    from webapp.accounts.services import token_create
    from webapp.studies.services import study_cancel

    token = token_create(user=team_setup["alice"], name="cli")[1]
    args = ["remote", "study", "mandelbrot", *(a for k, v in IMAGE.items() for a in ("-p", f"{k}={v}")),
            "--backends", "hybrid", "--impl", "native"]  # fmt: skip
    refused = paralab(*args, "--workers", "2,3", "--threads", "2", url=live_server.url, token=token)
    assert refused.returncode == 2
    assert one_line(refused.stderr) == (
        "paralab: error: the server refused the request: threads: 2 threads per rank must divide every worker "
        "count of the hybrid runs, and 3 is not a multiple of 2: sweep multiples of 2 (e.g. 2, 4, 8)"
    )
    made = paralab(*args, "--workers", "2,4", "--threads", "2", "--repetitions", "1", url=live_server.url, token=token)
    assert made.returncode == 0, made.stderr
    study = Study.objects.get()
    study_cancel(user=team_setup["alice"], study=study)  # the point is how it was made, not to run it
    assert study.threads == 2
    assert sorted(Job.objects.filter(backend="hybrid").values_list("workers", "threads")) == [(2, 2), (4, 2)]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_hybrid_study_runs_its_threads_per_rank_on_the_real_worker(team_setup, celery_worker, api_client_for):
    from tests.webapp.studies.test_end_to_end import wait_for_study

    alice = api_client_for(team_setup["alice"])
    body = {**BODY, "backends": ["hybrid"], "workers": [2, 4], "threads": 2}
    created = alice.post("/api/v1/studies/", body, format="json")
    assert created.status_code == 201, created.json()
    doc = wait_for_study(alice, created.json()["id"])
    assert doc["status"] == "succeeded", doc["runs"]
    ran = {job.workers: job.provenance["layout"] for job in Job.objects.filter(backend="hybrid")}
    assert {w: (layout["ranks"], layout["threads"], layout["chosen"]) for w, layout in ran.items()} == {
        2: (1, 2, "asked"),
        4: (2, 2, "asked"),
    }
    assert [p["workers"] for p in {s["label"]: s for s in doc["series"]}["hybrid × native"]["points"]] == [2, 4]
