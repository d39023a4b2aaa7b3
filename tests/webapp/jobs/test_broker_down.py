"""With the broker unreachable, a submission is refused with a clear message and nothing is created."""

import pytest
from django.test import override_settings

from webapp.jobs.models import Job

pytestmark = pytest.mark.django_db

NOWHERE = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@override_settings(CELERY_BROKER_URL=NOWHERE)
def test_api_answers_503_and_creates_nothing(team_setup, api_client_for):
    response = api_client_for(team_setup["alice"]).post("/api/v1/jobs/", {"workload": "fib"}, format="json")
    assert response.status_code == 503 and response["Retry-After"] == "10"
    assert "the job queue (Redis) is not answering" in response.json()["detail"]
    assert not Job.objects.exists()


@override_settings(CELERY_BROKER_URL=NOWHERE)
def test_submit_form_shows_the_outage_and_keeps_the_input(team_setup, client_for):
    client = client_for(team_setup["alice"])
    body = {"team": "team-a", "backend": "processes", "implementation": "python", "workers": 2, "params.ns": "30,29"}
    response = client.post("/jobs/new/?workload=fib", {**body, "workload": "fib"})
    assert response.status_code == 200
    assert b"the job queue (Redis) is not answering" in response.content
    assert b'value="30,29"' in response.content
    assert not Job.objects.exists()
