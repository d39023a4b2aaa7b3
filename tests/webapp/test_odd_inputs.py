"""Inputs found to break things once: each now gets a clear 4xx, never a 500."""

import pytest

pytestmark = pytest.mark.django_db


def test_a_huge_json_integer_for_a_float_parameter_is_a_400(team_setup, api_client_for):
    client = api_client_for(team_setup["alice"])
    body = '{"workload": "mandelbrot", "params": {"x_min": 1' + "0" * 400 + "}}"
    response = client.post("/api/v1/jobs/", body, content_type="application/json")
    assert response.status_code == 400 and "must be a finite number" in response.json()["params"]["x_min"][0]


@pytest.mark.parametrize("path", ["/api/v1/jobs/", "/api/v1/exports/jobs.csv"])
def test_the_last_possible_date_is_a_filter_not_a_crash(team_setup, api_client_for, path):
    response = api_client_for(team_setup["alice"]).get(path, {"queued_before": "9999-12-31"})
    assert response.status_code == 200


def test_history_page_with_the_last_possible_date(team_setup, client_for):
    assert client_for(team_setup["alice"]).get("/jobs/", {"queued_before": "9999-12-31"}).status_code == 200


@pytest.mark.parametrize("ids", ["²,1", "99999999999999999999"])
def test_compare_refuses_ids_that_are_not_plain_numbers(team_setup, api_client_for, ids):
    response = api_client_for(team_setup["alice"]).get("/api/v1/compare/", {"jobs": ids})
    assert response.status_code == 400 and "must be ids separated by commas" in response.json()["jobs"][0]


@pytest.mark.parametrize(
    "path",
    [
        "/jobs/99999999999999999999/",
        "/jobs/99999999999999999999/artifacts/x.png",
        "/api/v1/jobs/99999999999999999999/",
        "/api/v1/jobs/99999999999999999999/artifacts/x.png/",
        "/studies/99999999999999999999/",
        "/api/v1/studies/99999999999999999999/",
    ],
)
def test_ids_too_large_for_the_database_are_a_404(team_setup, client_for, api_client_for, path):
    client = api_client_for(team_setup["alice"]) if path.startswith("/api/") else client_for(team_setup["alice"])
    assert client.get(path).status_code == 404
