"""Team webhooks against a real HTTP receiver on 127.0.0.1: signed payloads, retries with backoff after a
500, the delivery log on the team page, the owner's forms, the SSRF guards (private addresses, schemes,
credentials, redirects, timeouts), and the whole path through a real Celery worker."""

from __future__ import annotations

import json
import time

import pytest
from django.test import override_settings
from django.urls import reverse

from tests.webapp.notifications.receiver import Receiver
from webapp.jobs.models import Job, Status
from webapp.jobs.services import job_transition
from webapp.notifications.models import DeliveryStatus, Webhook, WebhookDelivery
from webapp.notifications.services import delivery_attempt, job_notify
from webapp.notifications.signing import verify

SECRET = "s3cret-for-the-tests-0123456789"


@pytest.fixture
def receiver():
    started: list[Receiver] = []

    def start(**kwargs) -> Receiver:
        started.append(Receiver(**kwargs).start())
        return started[-1]

    yield start
    for r in started:
        r.stop()


def finished_job(team_setup, status: str = Status.FAILED) -> Job:
    job = Job.objects.create(team=team_setup["team_a"], submitted_by=team_setup["bob"], workload="fib",
                             params={"ns": [5]}, backend="threads", implementation="python", workers=2)  # fmt: skip
    assert job_transition(job_id=job.pk, to=Status.RUNNING)
    assert job_transition(job_id=job.pk, to=status, error="boom" if status == Status.FAILED else "")
    return job


def hook(team_setup, url: str) -> Webhook:
    return Webhook.objects.create(team=team_setup["team_a"], url=url, secret=SECRET, created_by=team_setup["alice"])


def attempts_until_done(delivery_id: int) -> list[float | None]:
    """Runs delivery attempts back to back (the task would wait the returned delay in between)."""
    delays = [delivery_attempt(delivery_id=delivery_id)]
    while delays[-1] is not None:
        delays.append(delivery_attempt(delivery_id=delivery_id))
    return delays


@pytest.mark.django_db
@override_settings(PARALAB_WEBHOOK_BACKOFF=10)
def test_signed_payload_is_retried_after_a_500_then_delivered_and_logged(team_setup, receiver, client_for):
    r = receiver(codes=[500, 200])
    hook(team_setup, r.url)
    job = finished_job(team_setup)
    [delivery_id] = job_notify(job_id=job.pk)
    assert job_notify(job_id=job.pk) == []  # a redelivered task makes no second delivery

    assert attempts_until_done(delivery_id) == [10, None]  # the first retry waits the backoff
    first, second = r.requests
    for request in (first, second):
        assert request.path == "/hooks/paralab?source=test"
        assert request.headers["Content-Type"] == "application/json"
        assert request.headers["X-Paralab-Event"] == "job.finished"
        assert request.headers["X-Paralab-Delivery"] == str(delivery_id)
        header = request.headers["X-Paralab-Signature"]
        assert verify(secret=SECRET, header=header, body=request.body, now=time.time())
        assert not verify(secret="another-secret-of-16", header=header, body=request.body, now=time.time())
        assert not verify(secret=SECRET, header=header, body=request.body + b" ", now=time.time())
        assert not verify(secret=SECRET, header=header, body=request.body, now=time.time() + 600)  # a replay
    payload = json.loads(second.body)
    assert payload["event"] == "job.finished" and payload["team"] == "team-a" and payload["delivery"] == delivery_id
    assert payload["job"] | {"error": "boom"} == payload["job"]
    assert {k: payload["job"][k] for k in ("id", "status", "workload", "backend", "workers", "submitted_by")} == {
        "id": job.pk, "status": "failed", "workload": "fib", "backend": "threads", "workers": 2, "submitted_by": "bob"}  # fmt: skip

    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert delivery.status == DeliveryStatus.DELIVERED and [a["code"] for a in delivery.attempts] == [500, 200]
    assert delivery.attempts[0]["error"] == "HTTP 500 Internal Server Error"
    page = client_for(team_setup["alice"]).get(reverse("team-detail", args=["team-a"])).content.decode()
    assert "Delivery log" in page and "500 → 200" in page and "delivered" in page and f"#{job.pk}" in page
    # Members and viewers see no webhooks (their URLs and secrets are the owners').
    assert (
        "Delivery log"
        not in client_for(team_setup["bob"]).get(reverse("team-detail", args=["team-a"])).content.decode()
    )


@pytest.mark.django_db
@override_settings(PARALAB_WEBHOOK_ATTEMPTS=3, PARALAB_WEBHOOK_BACKOFF=1)
def test_backoff_grows_and_gives_up_after_the_last_attempt(team_setup, receiver):
    r = receiver(codes=[503])
    hook(team_setup, r.url)
    [delivery_id] = job_notify(job_id=finished_job(team_setup).pk)
    assert attempts_until_done(delivery_id) == [1, 4, None]
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert delivery.status == DeliveryStatus.FAILED and delivery.response_codes == ["503", "503", "503"]
    assert len(r.requests) == 3


@pytest.mark.django_db
@pytest.mark.parametrize(
    "codes, location, expected_error",
    [
        ([404], "", "HTTP 404 Not Found"),  # the receiver says no: asking again will not change it
        ([302], "http://169.254.169.254/latest/meta-data/", "redirect to http://169.254.169.254/latest/meta-data/ not followed"),
    ],
)  # fmt: skip
def test_a_4xx_or_a_redirect_fails_at_once(team_setup, receiver, codes, location, expected_error):
    r = receiver(codes=codes, location=location)
    hook(team_setup, r.url)
    [delivery_id] = job_notify(job_id=finished_job(team_setup).pk)
    assert attempts_until_done(delivery_id) == [None]
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts[0]["error"] == expected_error
    assert len(r.requests) == 1


@pytest.mark.django_db
@override_settings(PARALAB_WEBHOOK_TIMEOUT=0.3)
def test_a_receiver_that_does_not_answer_in_time_is_tried_again(team_setup, receiver):
    r = receiver(codes=[200], delay=5.0)
    hook(team_setup, r.url)
    [delivery_id] = job_notify(job_id=finished_job(team_setup).pk)
    started = time.monotonic()
    assert delivery_attempt(delivery_id=delivery_id) == 0.2  # tests/settings.py's backoff
    assert time.monotonic() - started < 3  # gave up at its 0.3 s, long before the receiver's 5 s answer
    attempt = WebhookDelivery.objects.get(pk=delivery_id).attempts[0]
    assert attempt["code"] is None and "timed out" in attempt["error"]


@pytest.mark.django_db
@override_settings(PARALAB_WEBHOOK_ALLOW_PRIVATE=False)
@pytest.mark.parametrize(
    "url, reason",
    [
        ("http://127.0.0.1:{port}/", "127.0.0.1 resolves to 127.0.0.1, a private, local or reserved address"),
        ("http://localhost:{port}/", "localhost resolves to "),
        ("http://[::ffff:127.0.0.1]:{port}/", "resolves to 127.0.0.1"),
        ("http://10.1.2.3/", "10.1.2.3 resolves to 10.1.2.3"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 resolves to 169.254.169.254"),
        ("http://no-such-host.invalid/", "no-such-host.invalid does not resolve"),
    ],
)  # fmt: skip
def test_private_and_local_addresses_are_refused_unless_allowed(team_setup, receiver, url, reason):
    r = receiver()
    hook(team_setup, url.format(port=r.server.server_address[1]))
    [delivery_id] = job_notify(job_id=finished_job(team_setup).pk)
    assert attempts_until_done(delivery_id) == [None]  # a refusal is final
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts[0]["error"].startswith("refused: ") and reason in delivery.attempts[0]["error"]
    assert r.requests == []


@pytest.mark.django_db
def test_owner_adds_tests_and_removes_a_webhook_through_the_team_page(team_setup, client_for):
    owner = client_for(team_setup["alice"])
    page = owner.get(reverse("team-detail", args=["team-a"])).content.decode()
    assert "Add webhook" in page and 'name="webhook-secret"' in page
    for data, error in (
        ({"webhook-url": "ftp://example.org/x", "webhook-secret": SECRET}, "only http:// and https:// addresses"),
        ({"webhook-url": "https://u:p@example.org/", "webhook-secret": SECRET}, "put no user or password"),
        ({"webhook-url": "https://example.org/", "webhook-secret": "short"}, "at least 16 characters"),
    ):
        response = owner.post(reverse("webhook-add", args=["team-a"]), data)
        assert response.status_code == 400 and error in response.content.decode(), error
    assert not Webhook.objects.exists()
    response = owner.post(reverse("webhook-add", args=["team-a"]),
                          {"webhook-url": "https://example.org/hook", "webhook-secret": SECRET}, follow=True)  # fmt: skip
    assert "Finished jobs will be POSTed to https://example.org/hook." in response.content.decode()
    webhook = Webhook.objects.get()
    assert webhook.secret == SECRET and webhook.team == team_setup["team_a"]

    for actor, code in (("bob", 403), ("vera", 403), ("mallory", 404)):
        client = client_for(team_setup[actor])
        assert client.post(reverse("webhook-test", args=["team-a", webhook.pk])).status_code == code
        assert client.post(reverse("webhook-remove", args=["team-a", webhook.pk])).status_code == code
        assert client.post(reverse("webhook-add", args=["team-a"]),
                           {"webhook-url": "https://evil.example/", "webhook-secret": SECRET}).status_code == code  # fmt: skip
    assert Webhook.objects.count() == 1 and not WebhookDelivery.objects.exists()

    response = owner.post(reverse("webhook-test", args=["team-a", webhook.pk]), follow=True)
    assert "A test delivery (event “ping”) is on its way" in response.content.decode()
    assert WebhookDelivery.objects.get().event == "ping"
    owner.post(reverse("webhook-remove", args=["team-a", webhook.pk]))
    assert not Webhook.objects.exists() and not WebhookDelivery.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_cancelled_job_and_the_test_button_reach_the_receiver_through_the_celery_worker(
    team_setup, celery_worker, receiver, client_for
):
    """The real path: the job's final transition commits, the worker's tasks sign and POST, retry after
    the 500 (tests/settings.py's 0.2 s backoff), and the team page shows the log."""
    r = receiver(codes=[500, 200])
    webhook = hook(team_setup, r.url)
    job = Job.objects.create(team=team_setup["team_a"], submitted_by=team_setup["bob"], workload="fib",
                             params={"ns": [5]}, backend="sequential", implementation="python")  # fmt: skip
    client_for(team_setup["bob"]).post(reverse("job-cancel", args=[job.pk]))
    first, second = r.wait_for(2)
    assert json.loads(second.body)["job"] | {"id": job.pk, "status": "cancelled"} == json.loads(second.body)["job"]
    assert 0.2 <= second.at - first.at < 5  # waited the backoff, not more than a few seconds
    assert verify(secret=SECRET, header=second.headers["X-Paralab-Signature"], body=second.body, now=time.time())

    owner = client_for(team_setup["alice"])
    owner.post(reverse("webhook-test", args=["team-a", webhook.pk]))
    ping = r.wait_for(3)[2]
    assert ping.headers["X-Paralab-Event"] == "ping" and json.loads(ping.body)["sent_by"] == "alice"
    deadline = time.monotonic() + 10
    while WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    page = owner.get(reverse("team-detail", args=["team-a"])).content.decode()
    log = page[page.index("Delivery log") :]
    assert log.count("delivered") == 2 and "500 → 200" in log and "ping" in log and f"#{job.pk}" in log
