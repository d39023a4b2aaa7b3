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
    directives = {d.split()[0]: d.split()[1:] for d in (part.strip() for part in docs.split(";")) if d}
    assert directives["script-src"] == ["'self'"]  # the directives come in any order
    assert directives["style-src"] == ["'self'", "'unsafe-inline'"]


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


# Behind the one reverse proxy of docs/deploy.md: daphne's peer is always the proxy, which appends the
# address it received each request from to X-Forwarded-For.
PROXY = "172.20.0.2"


def through_the_proxy(forwarded_for: str) -> Client:
    return Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded_for)


def log_in(client: Client, username: str, password: str) -> int:
    return client.post("/accounts/login/", {"username": username, "password": password}).status_code


@override_settings(AXES_ENABLED=True, AXES_FAILURE_LIMIT=3, TRUSTED_PROXY_COUNT=1)
def test_behind_the_proxy_one_clients_failures_do_not_lock_out_another(team_setup):
    attacker = through_the_proxy("198.51.100.7")
    assert [log_in(attacker, "alice", "wrong") for _ in range(3)] == [200, 200, 429]
    assert log_in(attacker, "alice", "pw-for-tests-1") == 429
    assert log_in(through_the_proxy("203.0.113.5"), "alice", "pw-for-tests-1") == 302  # alice, elsewhere


@override_settings(AXES_ENABLED=True, AXES_FAILURE_LIMIT=3, TRUSTED_PROXY_COUNT=1)
def test_a_spoofed_leftmost_forwarded_for_entry_is_not_the_counted_address(team_setup):
    from axes.models import AccessAttempt

    # The client writes any X-Forwarded-For it likes; the proxy appends the address it really came from.
    codes = [log_in(through_the_proxy(f"10.9.8.{i}, 203.0.113.5"), "alice", "wrong") for i in range(3)]
    assert codes == [200, 200, 429]
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.5"}


@override_settings(AXES_ENABLED=True, AXES_FAILURE_LIMIT=3, TRUSTED_PROXY_COUNT=1)
def test_one_password_sprayed_over_many_usernames_is_locked_out(team_setup):
    sprayer = through_the_proxy("198.51.100.7")
    assert [log_in(sprayer, username, "Winter2026!") for username in ("alice", "bob", "vera")] == [200, 200, 429]
    assert log_in(sprayer, "mallory", "pw-for-tests-1") == 429  # from that address, even a right password


@override_settings(AXES_ENABLED=True, AXES_FAILURE_LIMIT=3, TRUSTED_PROXY_COUNT=1)
def test_logging_in_to_ones_own_account_does_not_wipe_the_addresss_failures(team_setup):
    assert [log_in(through_the_proxy("198.51.100.7"), name, "Winter2026!") for name in ("alice", "bob")] == [200, 200]
    assert log_in(through_the_proxy("198.51.100.7"), "mallory", "pw-for-tests-1") == 302  # the sprayer's own
    assert log_in(through_the_proxy("198.51.100.7"), "vera", "Winter2026!") == 429


@pytest.mark.parametrize(
    ("proxies", "forwarded_for", "seen"),
    [
        (0, "", "192.0.2.1"),  # direct: the peer
        (0, "203.0.113.5", "192.0.2.1"),  # direct: a client's header is ignored
        (1, "203.0.113.5", "203.0.113.5"),
        (1, "1.2.3.4, 203.0.113.5", "203.0.113.5"),  # the client's own entry is not believed
        (2, "1.2.3.4, 203.0.113.5, 10.0.0.9", "203.0.113.5"),  # two proxies: the outer one wrote 203.0.113.5
        (2, "203.0.113.5", "192.0.2.1"),  # fewer entries than proxies: not written by them
        (1, "not-an-address", "192.0.2.1"),
        (1, "2001:DB8::1", "2001:db8::1"),
    ],
)
def test_django_sees_the_client_address_the_trusted_proxies_forwarded(settings, proxies, forwarded_for, seen):
    from django.http import HttpResponse
    from django.test import RequestFactory

    from webapp.client_address import ForwardedClientAddressMiddleware

    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR=forwarded_for)
    middleware = ForwardedClientAddressMiddleware(lambda request: HttpResponse(request.META["REMOTE_ADDR"]))
    assert middleware(request).content.decode() == seen
