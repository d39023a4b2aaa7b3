"""The job pages through Django's test client: scoping, the generated submit form, its errors, cancel, history."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from kernels.registry import WORKLOADS
from webapp.jobs.models import Job, Status

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return response.content.decode()


def error_texts(response) -> list[str]:
    found = re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', text(response), re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", item)).strip() for item in found]


def submit(client, **fields):
    """POST the submit form as a browser would: every parameter field filled (with the default unless given)."""
    workload = WORKLOADS[fields.get("workload", "fib")]
    data = {
        "workload": workload.name,
        "team": "team-a",
        "backend": "processes",
        "implementation": "python",
        "workers": "2",
    }
    for param in workload.params:
        default = ",".join(map(str, param.default)) if param.kind == "int_list" else str(param.default)
        data[f"params.{param.name}"] = "30,29" if param.name == "ns" else default
    data.update(fields)
    return client.post(reverse("job-submit"), data)


# --- access ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/jobs/",
        "/jobs/new/",
        "/jobs/1/",
        "/jobs/1/artifacts/mandelbrot.png",
        "/teams/",
        "/teams/team-a/",
        "/profile/",
    ],
)
def test_anonymous_is_sent_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={url}"


def test_login_page_logs_in_and_lands_on_the_dashboard(client, team_setup):
    page = client.get(reverse("login"))
    assert 'name="username"' in text(page) and "csrfmiddlewaretoken" in text(page)
    response = client.post(reverse("login"), {"username": "alice", "password": "pw-for-tests-1"})
    assert response.status_code == 302 and response["Location"] == reverse("dashboard")
    assert "Recent jobs" in text(client.get(reverse("dashboard")))


def test_wrong_password_is_refused_with_a_message(client, team_setup):
    response = client.post(reverse("login"), {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in text(response)


def test_logout_is_a_post_and_ends_the_session(client_for, team_setup):
    client = client_for(team_setup["alice"])
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("dashboard")).status_code == 302


# --- dashboard ----------------------------------------------------------------------------------


def test_dashboard_shows_own_teams_jobs_only(client_for, team_setup, make_job):
    mine = make_job(user=team_setup["bob"], team=team_setup["team_a"], workload="primes", params={"n": 1000})
    theirs = make_job(user=team_setup["mallory"], team=team_setup["team_b"], workload="heat", params={})
    page = text(client_for(team_setup["vera"]).get(reverse("dashboard")))
    assert f'href="/jobs/{mine.pk}/"' in page
    assert "primes" in page and "Team A" in page and "bob" in page
    assert f'href="/jobs/{theirs.pk}/"' not in page
    assert "Team B" not in page and "heat" not in page


def test_dashboard_row_shows_progress_verification_and_wall_time(client_for, team_setup, make_job):
    make_job(
        user=team_setup["alice"],
        team=team_setup["team_a"],
        status=Status.SUCCEEDED,
        progress={"done": 2, "total": 2, "workers": {"0": 2}, "spans": []},
        result=[6765, 10946],
        verified=False,
        verification="fib(20) should be 6765",
        wall_time=1.5,
    )
    page = text(client_for(team_setup["alice"]).get(reverse("dashboard")))
    assert "2/2" in page
    assert "verification failed" in page
    assert "1.500 s" in page
    assert "status-succeeded" in page


def test_dashboard_queries_do_not_grow_with_the_jobs(client_for, team_setup, make_job, django_assert_max_num_queries):
    client = client_for(team_setup["alice"])
    for _ in range(3):
        make_job(user=team_setup["alice"], team=team_setup["team_a"])
    with django_assert_max_num_queries(7) as few:  # 7th: the folded studies (none here)
        client.get(reverse("dashboard"))
    for _ in range(10):
        make_job(user=team_setup["bob"], team=team_setup["team_a"])
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert text(client.get(reverse("dashboard"))).count('href="/jobs/') >= 13


# --- detail, cancel, artifacts ---------------------------------------------------------------------


def test_detail_of_another_teams_job_is_404(client_for, team_setup, make_job):
    job = make_job(user=team_setup["mallory"], team=team_setup["team_b"])
    client = client_for(team_setup["alice"])
    assert client.get(reverse("job-detail", args=[job.pk])).status_code == 404
    assert client.get(reverse("job-detail", args=[999999])).status_code == 404


def test_detail_shows_everything_about_a_finished_job(client_for, team_setup, make_job):
    source = make_job(user=team_setup["alice"], team=team_setup["team_a"])
    job = make_job(
        user=team_setup["bob"],
        team=team_setup["team_a"],
        params={"ns": [20, 21]},
        backend="threads",
        workers=2,
        status=Status.SUCCEEDED,
        worker_host="node-7",
        provenance={"cpu_model": "Test CPU 9000", "packages": {"numpy": "2.4.6"}, "load_average": [0.5, 0.25, 0.1]},
        progress={"done": 2, "total": 2, "workers": {"0": 1, "1": 1}, "elapsed": 0.2, "spans": []},
        result={"values": [6765, 10946]},
        verified=True,
        verification="matches the closed form",
        wall_time=0.25,
        log=["unit 0 done", "unit 1 done"],
    )
    Job.objects.filter(pk=job.pk).update(rerun_of=source)
    page = text(client_for(team_setup["vera"]).get(reverse("job-detail", args=[job.pk])))
    assert 'http-equiv="refresh"' not in page  # final: nothing left to update
    assert '<progress value="2" max="2">' in page and "2/2 units" in page
    assert "worker 1" in page
    assert "&quot;values&quot;: [" in page and "6765" in page  # pretty JSON, escaped
    assert 'class="badge verified"' in page and "matches the closed form" in page
    assert "node-7" in page and "Test CPU 9000" in page and "numpy 2.4.6" in page
    assert "unit 1 done" in page
    assert f'href="/jobs/{source.pk}/"' in page
    assert "0.250 s" in page
    # A viewer sees no buttons that would only answer 403.
    assert "job-cancel" not in page and "?rerun=" not in page


def test_detail_of_a_failed_check_says_not_verified(client_for, team_setup, make_job):
    job = make_job(
        user=team_setup["alice"],
        team=team_setup["team_a"],
        status=Status.SUCCEEDED,
        verified=False,
        verification="expected 6765, got 6766",
    )
    page = text(client_for(team_setup["alice"]).get(reverse("job-detail", args=[job.pk])))
    assert 'class="badge not-verified"' in page and "verification failed" in page
    assert "expected 6765, got 6766" in page


def test_unfinished_job_page_refreshes_itself_and_offers_cancel(client_for, team_setup, make_job):
    job = make_job(user=team_setup["alice"], team=team_setup["team_a"])
    page = text(client_for(team_setup["bob"]).get(reverse("job-detail", args=[job.pk])))
    assert '<meta http-equiv="refresh" content="2">' in page
    assert f'action="/jobs/{job.pk}/cancel/"' in page
    assert f'href="/jobs/new/?rerun={job.pk}"' in page
    assert "waiting for a worker" in page


def test_cancel_of_a_queued_job(client_for, team_setup, make_job):
    job = make_job(user=team_setup["alice"], team=team_setup["team_a"])
    client = client_for(team_setup["bob"])
    response = client.post(reverse("job-cancel", args=[job.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("job-detail", args=[job.pk])
    job.refresh_from_db()
    assert job.status == Status.CANCELLED
    page = text(response)
    assert f"Job #{job.pk} is cancelled." in page
    assert "status-cancelled" in page and "http-equiv" not in page


def test_cancel_of_a_running_job_asks_its_worker(client_for, team_setup, make_job):
    job = make_job(user=team_setup["alice"], team=team_setup["team_a"], status=Status.RUNNING)
    page = text(client_for(team_setup["alice"]).post(reverse("job-cancel", args=[job.pk]), follow=True))
    job.refresh_from_db()
    assert job.status == Status.RUNNING and job.cancel_requested_at is not None
    assert "cancel requested" in page


def test_cancel_is_post_only_403_for_viewers_and_404_for_other_teams(client_for, team_setup, make_job):
    job = make_job(user=team_setup["alice"], team=team_setup["team_a"])
    assert client_for(team_setup["bob"]).get(reverse("job-cancel", args=[job.pk])).status_code == 405
    assert client_for(team_setup["vera"]).post(reverse("job-cancel", args=[job.pk])).status_code == 403
    assert client_for(team_setup["mallory"]).post(reverse("job-cancel", args=[job.pk])).status_code == 404
    job.refresh_from_db()
    assert job.status == Status.QUEUED


def test_artifact_is_served_to_the_team_and_404_to_others(client_for, team_setup, make_job, make_artifact):
    job = make_job(
        user=team_setup["alice"], team=team_setup["team_a"], workload="mandelbrot", params={}, status=Status.SUCCEEDED
    )
    png = make_artifact(job).file.open("rb").read()
    url = reverse("job-artifact", args=[job.pk, "mandelbrot.png"])

    response = client_for(team_setup["vera"]).get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == png and png.startswith(b"\x89PNG")

    assert client_for(team_setup["mallory"]).get(url).status_code == 404
    assert client_for(team_setup["alice"]).get(reverse("job-artifact", args=[job.pk, "other.png"])).status_code == 404

    page = text(client_for(team_setup["alice"]).get(reverse("job-detail", args=[job.pk])))
    assert f'<img src="{url}"' in page


# --- submit -------------------------------------------------------------------------------------


def test_submit_form_is_generated_from_the_schema_with_bounds(client_for, team_setup):
    page = text(client_for(team_setup["alice"]).get(reverse("job-submit") + "?workload=mandelbrot"))
    # Every parameter of the schema, with its bounds as attributes and in words.
    assert re.search(r'<input type="number" name="params.width" value="1024"[^>]* min="16" max="4096" step="1"', page)
    assert re.search(r'name="params.x_min" value="-2.5"[^>]* min="-4" max="4" step="any"', page)
    assert "image width in pixels; between 16 and 4096" in page
    for name in ("height", "max_iter", "x_max", "y_min", "y_max"):
        assert f'name="params.{name}"' in page
    # Run options: only what mandelbrot supports, workers bounded by the site's limit.
    assert '<option value="processes"' in page and '<option value="native"' in page
    assert re.search(r'name="workers" value="1"[^>]* min="1" max="8"', page)
    assert '<option value="team-a"' in page and "team-b" not in page
    # The chooser offers every workload.
    for name in ("fib", "primes", "montecarlo_pi", "heat", "mpi_ring"):
        assert f"?workload={name}" in page


def test_submit_form_for_a_list_parameter_and_limited_backends(client_for, team_setup):
    client = client_for(team_setup["alice"])
    fib = text(client.get(reverse("job-submit") + "?workload=fib"))
    assert re.search(r'<input type="text" name="params.ns" value="38,37,36,35,34,33"', fib)
    assert "1 to 64 integers, each between 1 and 40" in fib
    heat = text(client.get(reverse("job-submit") + "?workload=heat"))
    assert '<option value="sequential"' in heat and '<option value="mpi"' in heat
    assert '<option value="openmp"' in heat and '<option value="hybrid"' in heat
    assert '<option value="threads"' not in heat and '<option value="processes"' not in heat
    assert "heat runs on sequential, mpi, openmp, hybrid" in heat


def test_submit_with_an_unknown_workload_says_so(client_for, team_setup):
    response = client_for(team_setup["alice"]).get(reverse("job-submit") + "?workload=nope")
    assert response.status_code == 400
    assert "unknown workload &#x27;nope&#x27;" in text(response)


def test_valid_submit_creates_a_queued_job_and_redirects_to_it(client_for, team_setup):
    response = submit(client_for(team_setup["bob"]))
    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("job-detail", args=[job.pk])
    assert job.status == Status.QUEUED
    assert job.params == {"ns": [30, 29]}
    assert (job.team, job.submitted_by) == (team_setup["team_a"], team_setup["bob"])
    assert (job.backend, job.implementation, job.workers) == ("processes", "python", 2)


def test_the_openmp_and_hybrid_backends_are_offered_and_submit(client_for, team_setup):
    client = client_for(team_setup["bob"])
    page = text(client.get(reverse("job-submit") + "?workload=mandelbrot"))
    assert '<option value="openmp"' in page and '<option value="hybrid"' in page
    for backend in ("openmp", "hybrid"):
        response = submit(client, workload="mandelbrot", backend=backend, implementation="native")
        assert response.status_code == 302, error_texts(response)
    assert sorted(Job.objects.values_list("backend", "implementation", "workers")) == [
        ("hybrid", "native", 2),
        ("openmp", "native", 2),
    ]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"params.ns": "30,41"}, "params.ns", "must be 1 to 64 integers, each between 1 and 40, got 41"),
        ({"params.ns": "41"}, "params.ns", "got 41"),
        ({"params.ns": "abc"}, "params.ns", "must be an integer, got 'abc'"),
        ({"params.ns": ""}, "params.ns", "This field is required."),
        ({"workers": "99"}, "workers", "must be an integer between 1 and 8, got 99"),
        ({"workers": "two"}, "workers", "Enter a whole number."),
        ({"backend": "sequential", "workers": "2"}, "workers", "the sequential backend runs with exactly 1 worker"),
        ({"backend": "gpu"}, "backend", "Select a valid choice. gpu is not one of the available choices."),
        (
            {"workload": "heat", "backend": "threads"},
            "backend",
            "heat does not run on threads × python; it supports backends sequential, mpi, openmp, hybrid with python, native",
        ),
        (
            {"workload": "mandelbrot", "params.width": "4097"},
            "params.width",
            "must be between 16 and 4096, got 4097",
        ),
        (
            {"workload": "mandelbrot", "backend": "openmp"},
            "implementation",
            "the openmp backend runs compiled OpenMP kernels: choose implementation native",
        ),
        ({"team": "team-b"}, "team", "Select a valid choice."),
    ],
)
def test_bad_submit_shows_the_reason_on_its_field_and_creates_nothing(client_for, team_setup, fields, field, message):
    response = submit(client_for(team_setup["alice"]), **fields)
    assert response.status_code == 200
    page = text(response)
    # The message sits in the field's own block, right after its input.
    block = re.search(rf'<div class="field has-error">\s*<label for="id_{re.escape(field)}">.*?</div>', page, re.S)
    assert block, f"no error on {field}: {error_texts(response)}"
    assert message in html.unescape(block.group(0))
    assert Job.objects.count() == 0


def test_bad_submit_keeps_what_was_typed(client_for, team_setup):
    page = text(submit(client_for(team_setup["alice"]), **{"params.ns": "30,abc", "workers": "3"}))
    assert 'value="30,abc"' in page
    assert re.search(r'name="workers" value="3"', page)


def test_viewer_submit_is_403_and_creates_nothing(client_for, team_setup):
    client = client_for(team_setup["vera"])
    page = text(client.get(reverse("job-submit")))
    assert "you cannot submit jobs" in page
    assert submit(client).status_code == 403
    assert Job.objects.count() == 0


def test_rerun_form_is_prefilled_and_links_the_new_job(client_for, team_setup, make_job):
    old = make_job(
        user=team_setup["alice"], team=team_setup["team_a"], params={"ns": [25, 24]}, backend="threads", workers=2
    )
    client = client_for(team_setup["bob"])
    page = text(client.get(reverse("job-submit") + f"?rerun={old.pk}"))
    assert f"Re-run job #{old.pk}" in page
    assert 'value="25,24"' in page
    assert re.search(r'<option value="threads" selected>', page)
    assert re.search(r'name="workers" value="2"', page)
    assert f'name="rerun_of" value="{old.pk}"' in page

    response = submit(client, **{"params.ns": "26,24", "backend": "threads", "rerun_of": str(old.pk)})
    new = Job.objects.exclude(pk=old.pk).get()
    assert response["Location"] == reverse("job-detail", args=[new.pk])
    assert new.rerun_of == old and new.params == {"ns": [26, 24]}
    assert f'href="/jobs/{new.pk}/"' in text(client.get(reverse("job-detail", args=[old.pk])))


def test_rerun_of_another_teams_job_is_404(client_for, team_setup, make_job):
    theirs = make_job(user=team_setup["mallory"], team=team_setup["team_b"])
    client = client_for(team_setup["alice"])
    assert client.get(reverse("job-submit") + f"?rerun={theirs.pk}").status_code == 404
    assert client.get(reverse("job-submit") + "?rerun=abc").status_code == 404
    assert submit(client, rerun_of=str(theirs.pk)).status_code == 404
    assert Job.objects.filter(team=team_setup["team_a"]).count() == 0


def test_a_tampered_hidden_field_is_reported_above_the_form(client_for, team_setup):
    page = text(submit(client_for(team_setup["alice"]), rerun_of="abc"))
    assert "rerun_of: Enter a whole number." in page
    assert Job.objects.count() == 0


# --- history ------------------------------------------------------------------------------------


@pytest.fixture
def history(team_setup, make_job):
    a, b = team_setup["team_a"], team_setup["team_b"]
    jobs = {
        "fib_done": make_job(user=team_setup["alice"], team=a, status=Status.SUCCEEDED),
        "primes_bob": make_job(
            user=team_setup["bob"], team=a, workload="primes", params={"n": 100}, backend="threads", workers=2
        ),
        "heat_mpi": make_job(user=team_setup["alice"], team=a, workload="heat", params={}, backend="mpi", workers=2),
        "other_team": make_job(user=team_setup["mallory"], team=b),
    }
    # An old job, to filter by date.
    Job.objects.filter(pk=jobs["fib_done"].pk).update(queued_at=timezone.now() - timedelta(days=10))
    return jobs


def listed(response) -> set[int]:
    return {int(pk) for pk in re.findall(r'href="/jobs/(\d+)/">#', text(response))}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"fib_done", "primes_bob", "heat_mpi"}),
        ("?workload=primes", {"primes_bob"}),
        ("?backend=mpi", {"heat_mpi"}),
        ("?status=succeeded", {"fib_done"}),
        ("?submitted_by=bob", {"primes_bob"}),
        ("?team=team-a&implementation=python&workload=fib", {"fib_done"}),
        ("?team=team-b", set()),
        ("?queued_before=" + (timezone.now() - timedelta(days=5)).date().isoformat(), {"fib_done"}),
        ("?queued_after=" + (timezone.now() - timedelta(days=5)).date().isoformat(), {"primes_bob", "heat_mpi"}),
    ],
)
def test_history_filters_narrow_the_list(client_for, team_setup, history, query, expected):
    response = client_for(team_setup["alice"]).get(reverse("job-history") + query)
    assert response.status_code == 200
    assert listed(response) == {history[name].pk for name in expected}


def test_history_shows_bad_filters_instead_of_everything(client_for, team_setup, history):
    response = client_for(team_setup["alice"]).get(reverse("job-history") + "?status=exploded&queued_after=yesterday")
    assert listed(response) == set()
    page = text(response)
    assert "Select a valid choice. exploded is not one of the available choices." in page
    assert "Enter a valid date." in page


def test_history_paginates_25_a_page_and_keeps_the_filters(client_for, team_setup, make_job):
    for _ in range(27):
        make_job(user=team_setup["alice"], team=team_setup["team_a"])
    client = client_for(team_setup["alice"])
    first = client.get(reverse("job-history") + "?workload=fib")
    assert len(listed(first)) == 25
    assert "Page 1 of 2" in text(first)
    assert 'href="?workload=fib&amp;page=2"' in text(first)
    second = client.get(reverse("job-history") + "?workload=fib&page=2")
    assert len(listed(second)) == 2
    assert listed(first).isdisjoint(listed(second))


def test_history_page_names_the_feeds_of_the_users_teams_only(client_for, team_setup):
    body = client_for(team_setup["bob"]).get("/jobs/").content.decode()
    assert 'data-team-feed="team-a"' in body and 'data-team-feed="team-b"' not in body


def test_the_workload_chooser_links_back_to_its_own_form(client_for, team_setup):
    client = client_for(team_setup["alice"])
    submit = client.get("/jobs/new/?workload=fib").content.decode()
    study = client.get("/studies/new/?workload=fib").content.decode()
    assert 'href="/jobs/new/?workload=fib" aria-current="page"' in submit
    assert 'href="/jobs/new/?workload=primes"' in submit and 'href="/studies/new/?workload=primes"' in study
