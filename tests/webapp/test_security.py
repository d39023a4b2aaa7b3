"""Security defaults: production settings, headers, login lockout, submission limits, body size."""

import secrets
import subprocess
import sys

import pytest
from django.test import Client, override_settings

from tests.services import ROOT

pytestmark = pytest.mark.django_db

PRODUCTION = {"DEBUG": "0", "ALLOWED_HOSTS": "paralab.example.org", "SECRET_KEY": secrets.token_urlsafe(50)}


def run_with(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    base = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "DJANGO_SETTINGS_MODULE": "webapp.settings"}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True)


def test_check_deploy_is_clean_with_production_settings():
    result = run_with(PRODUCTION, "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize("key", ["", "short", "django-insecure-" + "x" * 50])
def test_production_refuses_to_start_without_a_real_secret_key(key):
    result = run_with({**PRODUCTION, "SECRET_KEY": key}, "manage.py", "check")
    assert result.returncode != 0
    assert "SECRET_KEY must be set to a random string of 40+ characters" in result.stderr


def test_production_sends_hsts_secure_cookies_and_csp():
    script = (
        "import django; django.setup(); from django.test import Client;"
        "r = Client().get('/accounts/login/', secure=True, HTTP_HOST='paralab.example.org');"
        "print(r.status_code); print(r.headers.get('Strict-Transport-Security'));"
        "print(r.headers.get('Content-Security-Policy')); print(r.cookies['csrftoken']['secure'])"
    )
    lines = run_with(PRODUCTION, "-c", script).stdout.splitlines()
    assert lines[0] == "200"
    assert "max-age=31536000" in lines[1] and "includeSubDomains" in lines[1]
    assert "default-src 'self'" in lines[2] and "frame-ancestors 'none'" in lines[2]
    assert lines[3] == "True"
    insecure = run_with(PRODUCTION, "-c", script.replace("secure=True", "secure=False")).stdout.splitlines()
    assert insecure[0] == "301"  # plain HTTP is redirected to HTTPS


def test_pages_carry_a_content_security_policy_without_inline_code(client):
    response = client.get("/accounts/login/")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    docs = client.get("/api/docs/").headers["Content-Security-Policy"]
    # Swagger UI's markup carries style attributes: inline styles are allowed there, scripts never.
    assert "script-src 'self';" in docs and "style-src 'self' 'unsafe-inline'" in docs


@override_settings(AXES_ENABLED=True, AXES_FAILURE_LIMIT=3)
def test_repeated_failed_logins_lock_the_account(team_setup):
    client = Client()
    for _ in range(2):
        response = client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
        assert response.status_code == 200 and b"correct username and password" in response.content
    assert client.post("/accounts/login/", {"username": "alice", "password": "wrong"}).status_code == 429
    locked = client.post("/accounts/login/", {"username": "alice", "password": "pw-for-tests-1"})
    assert locked.status_code in (403, 429)
    assert b"locked" in locked.content.lower()


@override_settings(PARALAB_SUBMIT_RATE=3)
def test_submissions_are_rate_limited_per_user(team_setup, api_client_for):
    client = api_client_for(team_setup["alice"])
    codes = [client.post("/api/v1/jobs/", {"workload": "fib"}, format="json").status_code for _ in range(4)]
    assert codes == [201, 201, 201, 429]
    response = client.post("/api/v1/jobs/", {"workload": "fib"}, format="json")
    assert "at most 3 submissions a minute" in response.json()["detail"]
    assert (
        api_client_for(team_setup["bob"]).post("/api/v1/jobs/", {"workload": "fib"}, format="json").status_code == 201
    )


@override_settings(PARALAB_TEAM_MAX_ACTIVE=2)
def test_a_team_has_a_limit_of_active_jobs(team_setup, api_client_for):
    alice, bob = api_client_for(team_setup["alice"]), api_client_for(team_setup["bob"])
    assert alice.post("/api/v1/jobs/", {"workload": "fib"}, format="json").status_code == 201
    assert bob.post("/api/v1/jobs/", {"workload": "fib"}, format="json").status_code == 201
    response = alice.post("/api/v1/jobs/", {"workload": "fib"}, format="json")
    assert (
        response.status_code == 429
        and "already has 2 queued or running jobs and its limit is 2" in response.json()["detail"]
    )
    mallory = api_client_for(team_setup["mallory"])
    assert mallory.post("/api/v1/jobs/", {"workload": "fib"}, format="json").status_code == 201


def test_an_oversized_body_is_refused_not_a_500(team_setup, api_client_for):
    client = api_client_for(team_setup["alice"])
    body = '{"workload": "fib", "params": {"ns": [' + ",".join(["1"] * 200_000) + "]}}"
    response = client.post("/api/v1/jobs/", body, content_type="application/json")
    assert response.status_code == 413
    assert response.json() == {"detail": "the request body is too large: at most 256 KB"}
