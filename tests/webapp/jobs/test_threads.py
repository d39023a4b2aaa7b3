"""Hybrid's threads per rank, chosen in the job form and the API, kept on the job and shown on its page.

The runs themselves (the default chosen on the worker's host, at several core counts) are in
test_threads_runs.py; here the jobs stay queued.
"""

import re

import pytest

from webapp.jobs.models import Job, Status

pytestmark = pytest.mark.django_db

IMAGE = {"width": 64, "height": 48, "max_iter": 50}


def submit(client, **body):
    body = {"workload": "mandelbrot", "params": IMAGE, "backend": "hybrid", "implementation": "native", **body}
    return client.post("/api/v1/jobs/", body, format="json")


@pytest.fixture
def alice_api(team_setup, api_client_for):
    return api_client_for(team_setup["alice"])


def test_the_api_keeps_the_threads_per_rank_asked_for(alice_api):
    response = submit(alice_api, workers=4, threads=2)
    assert response.status_code == 201, response.json()
    assert response.json()["threads"] == 2
    assert Job.objects.get().threads == 2
    default = submit(alice_api, workers=4)
    assert default.status_code == 201 and default.json()["threads"] is None  # chosen where it runs


def test_a_rerun_keeps_the_threads_per_rank(alice_api):
    job = submit(alice_api, workers=4, threads=1).json()
    again = alice_api.post(f"/api/v1/jobs/{job['id']}/rerun/", {}, format="json")
    assert again.status_code == 201, again.json()
    assert again.json()["threads"] == 1 and Job.objects.get(pk=again.json()["id"]).threads == 1


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"workers": 6, "threads": 4}, "must divide workers: 6 workers = ranks × threads, and 4 does not divide 6"),
        ({"workers": 2, "threads": 3}, "must be an integer between 1 and workers (2), got 3"),
        ({"workers": 2, "threads": 0}, "must be an integer between 1 and workers (2), got 0"),
        ({"workers": 2, "threads": "two"}, "A valid integer is required."),
        ({"backend": "mpi", "implementation": "native", "workers": 2, "threads": 2},
         "threads per rank is for the hybrid backend; mpi runs 2 workers"),
        ({"backend": "openmp", "workers": 2, "threads": 1},
         "threads per rank is for the hybrid backend; openmp runs 2 workers"),
    ],
)  # fmt: skip
def test_threads_that_do_not_fit_are_a_400_naming_threads_and_why(alice_api, body, reason):
    response = submit(alice_api, **body)
    assert response.status_code == 400
    assert response.json()["threads"] == [reason]
    assert not Job.objects.exists()


def test_the_form_offers_threads_per_rank_only_where_hybrid_runs(team_setup, client_for):
    browser = client_for(team_setup["alice"])
    page = browser.get("/jobs/new/?workload=mandelbrot").content.decode()
    field = re.search(r'<input type="number" name="threads"[^>]*>', page)
    assert field, "no threads field on a workload that runs on hybrid"
    # Visible without scripts; threads_field.js hides it until hybrid is chosen.
    assert 'data-shown-with-backend="hybrid"' in field.group(0) and "js/threads_field.js" in page
    assert "threads per rank" in page and "cores of the host that runs them" in page
    assert 'name="threads"' not in browser.get("/jobs/new/?workload=fib").content.decode()


def form(**fields):
    """The job form as a browser posts it: every parameter field filled in."""
    view = {"x_min": -2.5, "x_max": 1.0, "y_min": -1.25, "y_max": 1.25}
    return {"workload": "mandelbrot", "team": "team-a", "implementation": "native",
            **{f"params.{k}": v for k, v in {**IMAGE, **view}.items()}, **fields}  # fmt: skip


def test_the_form_submits_threads_per_rank_with_hybrid(team_setup, client_for):
    response = client_for(team_setup["alice"]).post("/jobs/new/", form(backend="hybrid", workers=4, threads=2))
    assert response.status_code == 302
    assert Job.objects.get().threads == 2


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        (
            {"backend": "mpi", "workers": 2, "threads": 2},
            "threads per rank is for the hybrid backend; mpi runs 2 workers",
        ),
        ({"backend": "hybrid", "workers": 6, "threads": 4}, "4 does not divide 6"),
        ({"backend": "hybrid", "workers": 2, "threads": "x"}, "Enter a whole number."),
    ],
)
def test_the_form_puts_refused_threads_on_its_field(team_setup, client_for, fields, reason):
    response = client_for(team_setup["alice"]).post("/jobs/new/", form(**fields))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == ["threads"] and reason in errors["threads"][0]
    assert re.search(r'class="field has-error">\s*<label for="id_threads"', response.content.decode())
    assert not Job.objects.exists()


def test_the_rerun_form_is_prefilled_with_the_threads(team_setup, client_for, make_job):
    job = make_job(user=team_setup["alice"], team=team_setup["team_a"], workload="mandelbrot", params=IMAGE,
                   backend="hybrid", implementation="native", workers=4)  # fmt: skip
    Job.objects.filter(pk=job.pk).update(threads=2)
    page = client_for(team_setup["alice"]).get(f"/jobs/new/?rerun={job.pk}").content.decode()
    assert re.search(r'name="threads" value="2"', page)


def layout_cell(page: str) -> str:
    found = re.search(r'<th>Threads per rank</th><td data-server-part="layout">([^<]*)</td>', page)
    assert found, "no threads per rank on the job page"
    return found.group(1)


def test_the_job_page_says_what_will_run_and_what_ran(team_setup, client_for, make_job):
    browser = client_for(team_setup["alice"])
    job = make_job(user=team_setup["alice"], team=team_setup["team_a"], workload="mandelbrot", params=IMAGE,
                   backend="hybrid", implementation="native", workers=8)  # fmt: skip
    assert layout_cell(browser.get(f"/jobs/{job.pk}/").content.decode()) == (
        "the default: as few ranks as possible, each filling up to the cores of the host that runs them"
    )
    Job.objects.filter(pk=job.pk).update(threads=2)
    assert layout_cell(browser.get(f"/jobs/{job.pk}/").content.decode()) == "4 MPI ranks × 2 OpenMP threads (as asked)"
    ran = {"ranks": 2, "threads": 4, "chosen": "default", "cores": 4, "host": "node-7"}
    Job.objects.filter(pk=job.pk).update(threads=None, status=Status.SUCCEEDED, provenance={"layout": ran})
    page = browser.get(f"/jobs/{job.pk}/").content.decode()
    assert layout_cell(page) == "2 MPI ranks × 4 OpenMP threads (the default for 4 cores on node-7)"
    assert "<th>Hybrid layout</th>" in page  # and in the provenance table, as recorded


def test_other_backends_have_no_threads_row(team_setup, client_for, make_job):
    job = make_job(user=team_setup["alice"], team=team_setup["team_a"], backend="processes", workers=2)
    assert "Threads per rank" not in client_for(team_setup["alice"]).get(f"/jobs/{job.pk}/").content.decode()
