"""Request bodies the API refuses cleanly: JSON nested too deep (a RecursionError before), and forms."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from webapp.parsers import MAX_JSON_DEPTH, json_depth_exceeds

pytestmark = pytest.mark.django_db

TOO_DEEP = f"JSON parse error - nested more than {MAX_JSON_DEPTH} levels deep"
JOB = '{"team": "team-a", "workload": "fib", "params": {"ns": %s}}'
STUDY = '{"team": "team-a", "workload": "fib", "backends": ["threads"], "params": {"ns": %s}}'


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("url, document", [("/api/v1/jobs/", JOB), ("/api/v1/studies/", STUDY)], ids=["job", "study"])
@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1_000, 100_000])
def test_a_body_nested_too_deep_is_a_400_naming_the_limit(team_setup, api_client_for, url, document, depth):
    client = api_client_for(team_setup["alice"])
    client.raise_request_exception = False
    response = client.post(url, document % nested(depth), content_type="application/json")
    assert response.status_code == 400, response.content[:200]
    assert response.json() == {"detail": TOO_DEEP}


def test_a_rerun_nested_too_deep_is_a_400(team_setup, api_client_for, make_job):
    job = make_job(user=team_setup["alice"], team=team_setup["team_a"])
    client = api_client_for(team_setup["alice"])
    body = '{"params": ' + nested(1_000) + "}"
    response = client.post(f"/api/v1/jobs/{job.pk}/rerun/", body, content_type="application/json")
    assert response.status_code == 400 and response.json() == {"detail": TOO_DEEP}


def test_nesting_up_to_the_limit_reaches_the_serializer(team_setup, api_client_for):
    client = api_client_for(team_setup["alice"])
    response = client.post("/api/v1/jobs/", JOB % nested(MAX_JSON_DEPTH - 2), content_type="application/json")
    assert response.status_code == 400
    assert "must be an integer" in response.json()["params"]["ns"][0]


@pytest.mark.parametrize("url, field", [("/api/v1/jobs/", "params"), ("/api/v1/studies/", "backends")])
def test_a_form_body_is_refused_as_unsupported(team_setup, api_client_for, url, field):
    """A form field is decoded by the serializer's JSONField, past any parser bound: forms are not taken."""
    client = api_client_for(team_setup["alice"])
    client.raise_request_exception = False
    body = urlencode({"team": "team-a", "workload": "fib", field: nested(5_000)})
    response = client.post(url, body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert response.json() == {"detail": 'Unsupported media type "application/x-www-form-urlencoded" in request.'}


def test_depth_is_measured_without_recursion():
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    assert json_depth_exceeds(deep, 32)
    assert not json_depth_exceeds({"a": [1, {"b": [2]}]}, 4)  # object, list, object, list
    assert json_depth_exceeds({"a": [1, {"b": [2]}]}, 3)
    assert not json_depth_exceeds("[[[[not a list]]]]", 1)
