"""A run's diagnosis through the real worker: CPU time, how far its timing can be trusted, load balance."""

import pytest

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_an_unbalanced_job_shows_its_imbalance_on_the_page_and_in_the_api(
    celery_worker, team_setup, api_client_for, wait_for_status, client
):
    api = api_client_for(team_setup["alice"])
    # fib(32) is ~1,000× fib(17): one worker does nearly all the work, however a loaded host stretches the rest.
    body = {"workload": "fib", "params": {"ns": [32, 17, 17, 17]}, "backend": "processes", "workers": 2}
    job_id = api.post("/api/v1/jobs/", body, format="json").json()["id"]
    wait_for_status(job_id, ("succeeded",))

    data = api.get(f"/api/v1/jobs/{job_id}/").json()
    balance = data["balance"]
    assert balance["imbalance"] > 1.6 and balance["critical_unit"] == 0  # perfect balance: 1.0
    idle = max(balance["workers"], key=lambda w: w["idle_share"])
    assert idle["idle_share"] > 0.5 and f"worker {idle['worker']} idle" in balance["hint"]
    assert data["cpu_time"] > 0 and data["measurement"]["cpu_share"] > 0
    assert {"load_before", "load_after", "disturbed", "too_short"} <= set(data["measurement"])

    client.force_login(team_setup["vera"])
    page = client.get(f"/jobs/{job_id}/").content.decode()
    assert "Load balance" in page and "unit 0 alone took" in page
    assert "CPU time" in page
