"""The jobs API over HTTP with real API tokens: access, bad input, submission, cancel, re-run."""

import pytest

from webapp.jobs.models import Job, Status

pytestmark = pytest.mark.django_db

SEED = [39088169, 24157817, 14930352, 9227465, 5702887, 3524578]


def submit(client, **body):
    body.setdefault("workload", "fib")
    return client.post("/api/v1/jobs/", body, format="json")


@pytest.fixture
def alice_api(team_setup, api_client_for):
    return api_client_for(team_setup["alice"])


def test_no_credentials_is_401_with_a_bearer_challenge(client):
    response = client.get("/api/v1/jobs/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_bad_token_is_401(team_setup):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer plb_not-a-real-token")
    response = client.get("/api/v1/jobs/")
    assert response.status_code == 401
    assert "Invalid or revoked" in response.json()["detail"]


def test_revoked_token_stops_working_at_once(team_setup):
    from rest_framework.test import APIClient

    from webapp.accounts.services import token_create, token_revoke

    token, text = token_create(user=team_setup["alice"], name="t")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {text}")
    assert client.get("/api/v1/jobs/").status_code == 200
    assert token_revoke(user=team_setup["alice"], token_id=token.pk)
    assert client.get("/api/v1/jobs/").status_code == 401


def test_token_is_stored_hashed(team_setup):
    from webapp.accounts.models import ApiToken
    from webapp.accounts.services import token_create

    token, text = token_create(user=team_setup["alice"], name="t")
    row = ApiToken.objects.get(pk=token.pk)
    assert text not in (row.digest, row.prefix) and len(row.digest) == 64
    assert text.startswith(row.prefix)


def test_submit_creates_a_queued_job_with_the_defaults_filled_in(alice_api, team_setup):
    response = submit(alice_api, backend="processes", workers=2)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "queued"
    assert body["params"] == {"ns": [38, 37, 36, 35, 34, 33]}
    assert body["team"] == "team-a" and body["submitted_by"] == "alice"
    assert Job.objects.get(pk=body["id"]).team == team_setup["team_a"]


@pytest.mark.parametrize(
    ("workload", "backend", "capability"),
    [("mandelbrot", "openmp", "native"), ("heat", "openmp", "native"), ("mandelbrot", "hybrid", "mpi"),
     ("heat", "hybrid", "mpi")],
)  # fmt: skip
def test_openmp_and_hybrid_are_selectable_and_go_to_the_queue_they_need(alice_api, workload, backend, capability):
    response = submit(alice_api, workload=workload, backend=backend, implementation="native", workers=2)
    assert response.status_code == 201, response.json()
    job = Job.objects.get(pk=response.json()["id"])
    assert (job.backend, job.implementation, job.workers, job.capability) == (backend, "native", 2, capability)


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"workload": "nope"}, "workload", "unknown workload 'nope'"),
        ({"backend": "gpu"}, "backend", '"gpu" is not a valid choice.'),
        ({"implementation": "rust"}, "implementation", '"rust" is not a valid choice.'),
        ({"workload": "heat", "backend": "threads", "workers": 2}, "backend", "heat does not run on threads × python"),
        (
            {"workload": "mpi_ring", "implementation": "native", "backend": "mpi"},
            "backend",
            "does not run on mpi × native",
        ),
        ({"backend": "processes", "workers": 9}, "workers", "must be an integer between 1 and 8, got 9"),
        ({"backend": "processes", "workers": 0}, "workers", "must be an integer between 1 and 8, got 0"),
        ({"workers": "many"}, "workers", "A valid integer is required."),
        ({"backend": "sequential", "workers": 2}, "workers", "the sequential backend runs with exactly 1 worker"),
        ({"params": [1, 2]}, "params", "must be an object of parameter names to values"),
        (
            {"workload": "mandelbrot", "backend": "openmp", "workers": 2},
            "implementation",
            "the openmp backend runs compiled OpenMP kernels: choose implementation native",
        ),
        ({"workload": "fib", "backend": "hybrid", "implementation": "native"}, "backend", "fib does not run on hybrid"),
    ],
)
def test_bad_request_fields_get_400_naming_field_and_reason(alice_api, body, field, reason):
    response = submit(alice_api, **body)
    assert response.status_code == 400
    assert reason in response.json()[field][0]
    assert Job.objects.count() == 0


@pytest.mark.parametrize(
    ("params", "name", "reason"),
    [
        ({"ns": [41]}, "ns", "must be 1 to 64 integers, each between 1 and 40, got 41"),
        ({"ns": [0]}, "ns", "between 1 and 40, got 0"),
        ({"ns": ["abc"]}, "ns", "must be an integer, got 'abc'"),
        ({"ns": [True]}, "ns", "got a boolean"),
        ({"ns": list(range(1, 66))}, "ns", "must have 1 to 64 items, got 65"),
        ({"ns": []}, "ns", "must have 1 to 64 items, got 0"),
        ({"ns": {"a": 1}}, "ns", "must be a list of integers"),
        ({"colour": 3}, "colour", "unknown parameter"),
    ],
)
def test_bad_params_get_400_naming_the_parameter_and_its_bound(alice_api, params, name, reason):
    response = submit(alice_api, params=params)
    assert response.status_code == 400
    assert reason in response.json()["params"][name][0]


@pytest.mark.parametrize(
    ("workload", "params", "name", "reason"),
    [
        ("primes", {"n": 10**12}, "n", "between 10 and 1_000_000_000"),
        ("primes", {"n": 1.5}, "n", "must be an integer"),
        ("montecarlo_pi", {"samples": -1}, "samples", "between 1000 and 2_000_000_000"),
        ("mandelbrot", {"width": 4096, "height": 4096, "max_iter": 10000}, "max_iter", "at most 1_000_000_000"),
        ("mandelbrot", {"x_min": 1, "x_max": 0}, "x_max", "must be greater than x_min"),
        ("mandelbrot", {"x_min": "nan"}, "x_min", "must be a finite number"),
        ("heat", {"rows": 2048, "cols": 2048, "steps": 100000}, "steps", "at most 5_000_000_000"),
        ("heat", {"rows": 4096}, "rows", "must be between 8 and 2048, got 4096"),
    ],
)
def test_every_workload_bounds_its_parameters(alice_api, workload, params, name, reason):
    response = submit(alice_api, workload=workload, params=params)
    assert response.status_code == 400
    assert reason in response.json()["params"][name][0]


def test_malformed_json_is_400_not_500(alice_api):
    response = alice_api.post("/api/v1/jobs/", "{not json", content_type="application/json")
    assert response.status_code == 400


def test_viewer_cannot_submit_or_cancel(team_setup, api_client_for):
    vera = api_client_for(team_setup["vera"])
    assert submit(vera, team="team-a").status_code == 403
    job = Job.objects.create(team=team_setup["team_a"], submitted_by=team_setup["alice"], workload="fib",
                             params={"ns": [5]}, backend="sequential", implementation="python")  # fmt: skip
    assert vera.post(f"/api/v1/jobs/{job.pk}/cancel/").status_code == 403
    assert vera.get(f"/api/v1/jobs/{job.pk}/").status_code == 200


def test_another_teams_job_is_404_everywhere(team_setup, api_client_for):
    job = Job.objects.create(team=team_setup["team_a"], submitted_by=team_setup["alice"], workload="fib",
                             params={"ns": [5]}, backend="sequential", implementation="python")  # fmt: skip
    mallory = api_client_for(team_setup["mallory"])
    assert mallory.get(f"/api/v1/jobs/{job.pk}/").status_code == 404
    assert mallory.post(f"/api/v1/jobs/{job.pk}/cancel/").status_code == 404
    assert mallory.post(f"/api/v1/jobs/{job.pk}/rerun/", {}, format="json").status_code == 404
    assert mallory.get("/api/v1/jobs/").json()["count"] == 0
    assert submit(mallory, team="team-a").json()["team"] == ["you are not a member of a team 'team-a'"]


def test_list_filters_and_paginates(alice_api, team_setup):
    for backend, workers in [("processes", 2), ("threads", 2), ("sequential", 1)]:
        assert submit(alice_api, backend=backend, workers=workers).status_code == 201
    listing = alice_api.get("/api/v1/jobs/", {"backend": "threads"}).json()
    assert listing["count"] == 1 and listing["results"][0]["backend"] == "threads"
    assert alice_api.get("/api/v1/jobs/", {"status": "queued", "team": "team-a"}).json()["count"] == 3
    assert alice_api.get("/api/v1/jobs/", {"submitted_by": "bob"}).json()["count"] == 0
    ordered = alice_api.get("/api/v1/jobs/", {"ordering": "workers"}).json()["results"]
    assert [j["workers"] for j in ordered] == [1, 2, 2]


def test_cancel_a_queued_job_means_it_never_starts(alice_api):
    job_id = submit(alice_api).json()["id"]
    response = alice_api.post(f"/api/v1/jobs/{job_id}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    job = Job.objects.get(pk=job_id)
    assert job.status == Status.CANCELLED and job.started_at is None and job.finished_at is not None
    assert alice_api.post(f"/api/v1/jobs/{job_id}/cancel/").json()["status"] == "cancelled"  # idempotent


def test_rerun_with_edited_params_links_to_the_original(alice_api):
    original = submit(alice_api).json()
    response = alice_api.post(f"/api/v1/jobs/{original['id']}/rerun/", {"params": {"ns": [30, 31]}}, format="json")
    assert response.status_code == 201
    assert response.json()["params"] == {"ns": [30, 31]} and response.json()["rerun_of"] == original["id"]
    bad = alice_api.post(f"/api/v1/jobs/{original['id']}/rerun/", {"params": {"ns": [99]}}, format="json")
    assert bad.status_code == 400 and "between 1 and 40" in bad.json()["params"]["ns"][0]


def test_workloads_and_teams_endpoints(alice_api):
    workloads = {w["name"]: w for w in alice_api.get("/api/v1/workloads/").json()}
    assert workloads["fib"]["params"][0]["default"] == [38, 37, 36, 35, 34, 33]
    assert workloads["heat"]["backends"] == ["sequential", "mpi", "openmp", "hybrid"]
    assert alice_api.get("/api/v1/workloads/nope/").status_code == 404
    teams = alice_api.get("/api/v1/teams/").json()["results"]
    assert [t["slug"] for t in teams] == ["team-a"]
    assert {m["username"]: m["role"] for m in teams[0]["members"]} == {
        "alice": "owner",
        "bob": "member",
        "vera": "viewer",
    }


def test_openapi_schema_and_docs_are_served_locally(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/v1/jobs/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower() and b"swagger-ui" in docs.content
