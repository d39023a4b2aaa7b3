"""Access matrix, generated from the URL conf: every route has a case, or this test fails.

For team A's objects: anonymous gets the login page (pages) or 401 (API); a user of team B gets
404 (the object does not exist for them); a viewer of team A cannot write (403); a member can.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from webapp.accounts.models import ApiToken
from webapp.accounts.services import token_create
from webapp.jobs.models import Artifact, Job
from webapp.notifications.models import Webhook, WebhookDelivery
from webapp.routing import websocket_urlpatterns
from webapp.studies.models import Study, StudyRun
from webapp.teams.models import Invitation
from webapp.teams.services import invitation_create

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


@dataclass
class Case:
    """``url`` builds the path from the fixture objects; ``expect`` maps an actor to a status code."""

    url: Callable[[dict[str, Any]], str]
    method: str = "get"
    expect: dict[str, int] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)


def page(url, method="get", *, outsider=200, viewer=200, member=200, data=None):
    return Case(url, method, {"anon": 302, "outsider": outsider, "viewer": viewer, "member": member}, data or {})


def api(url, method="get", *, outsider=200, viewer=200, member=200, data=None):
    return Case(url, method, {"anon": 401, "outsider": outsider, "viewer": viewer, "member": member}, data or {})


def public(url):
    return Case(url, "get", {"anon": 200, "outsider": 200, "viewer": 200, "member": 200})


JOB = "/jobs/{job}/"
API_JOB = "/api/v1/jobs/{job}/"
STUDY = "/studies/{study}/"
API_STUDY = "/api/v1/studies/{study}/"
SUBMIT = {"team": "team-a", "workload": "fib", "params": {"ns": [5]}}

CASES: dict[str, Case] = {
    "login": Case(lambda o: LOGIN, "get", {"anon": 200, "outsider": 302, "viewer": 302, "member": 302}),
    "logout": Case(lambda o: "/accounts/logout/", "post", {"anon": 302, "outsider": 302, "viewer": 302, "member": 302}),
    # Sign-up is by invitation unless PARALAB_OPEN_SIGNUP (off by default): the page does not exist.
    "signup": Case(lambda o: "/accounts/signup/", "get", {"anon": 404, "outsider": 404, "viewer": 404, "member": 404}),
    "password_reset": public(lambda o: "/accounts/password-reset/"),
    "password_reset_done": public(lambda o: "/accounts/password-reset/sent/"),
    "password_reset_confirm": public(lambda o: "/accounts/reset/MQ/not-a-token/"),  # says the link is not valid
    "password_reset_complete": public(lambda o: "/accounts/reset/done/"),
    # The link is the credential: anyone holding it sees the team's name and a sign-up or join form.
    "invitation-accept": public(lambda o: f"/invitations/{o['invitation_secret']}/"),
    "profile": page(lambda o: "/profile/"),
    "job-email-set": page(
        lambda o: "/profile/notifications/",
        "post",
        outsider=302,
        viewer=302,
        member=302,
        data={"job_email": "failed", "email": "me@example.org"},
    ),  # fmt: skip
    "token-create": page(lambda o: "/profile/tokens/", "post", data={"name": "x"}),
    # Revoking someone else's token changes nothing (checked below) and just goes back to the profile.
    "token-revoke": page(
        lambda o: f"/profile/tokens/{o['token'].pk}/revoke/", "post", outsider=302, viewer=302, member=302
    ),
    "dashboard": page(lambda o: "/"),
    "job-history": page(lambda o: "/jobs/"),
    "job-submit": page(lambda o: "/jobs/new/?workload=fib"),
    "job-detail": page(lambda o: JOB.format(**o), outsider=404),
    "job-cancel": page(lambda o: JOB.format(**o) + "cancel/", "post", outsider=404, viewer=403, member=302),
    "job-artifact": page(lambda o: JOB.format(**o) + "artifacts/mandelbrot.png", outsider=404),
    "team-list": page(lambda o: "/teams/"),
    "team-detail": page(lambda o: "/teams/team-a/", outsider=404),
    "team-member-set": page(
        lambda o: "/teams/team-a/members/",
        "post",
        outsider=404,
        viewer=403,
        member=403,
        data={"username": "bob", "role": "viewer"},
    ),  # fmt: skip
    "team-invite": page(
        lambda o: "/teams/team-a/invitations/",
        "post",
        outsider=404,
        viewer=403,
        member=403,
        data={"invite-role": "owner"},
    ),
    "team-invitation-revoke": page(
        lambda o: f"/teams/team-a/invitations/{o['invitation'].pk}/revoke/",
        "post",
        outsider=404,
        viewer=403,
        member=403,
    ),  # fmt: skip
    "webhook-add": page(
        lambda o: "/teams/team-a/webhooks/",
        "post",
        outsider=404,
        viewer=403,
        member=403,
        data={"webhook-url": "https://example.org/x", "webhook-secret": "0123456789abcdef"},
    ),  # fmt: skip
    "webhook-test": page(
        lambda o: f"/teams/team-a/webhooks/{o['webhook'].pk}/test/", "post", outsider=404, viewer=403, member=403
    ),
    "webhook-remove": page(
        lambda o: f"/teams/team-a/webhooks/{o['webhook'].pk}/delete/", "post", outsider=404, viewer=403, member=403
    ),
    "worker-list": page(lambda o: "/workers/"),
    "log-search": page(lambda o: "/search/logs/?q=boom"),
    "api-root": api(lambda o: "/api/v1/"),
    "api-workload-list": api(lambda o: "/api/v1/workloads/"),
    "api-workload-detail": api(lambda o: "/api/v1/workloads/fib/"),
    "api-job-list": api(lambda o: "/api/v1/jobs/"),
    "api-job-detail": api(lambda o: API_JOB.format(**o), outsider=404),
    "api-job-artifact": api(lambda o: API_JOB.format(**o) + "artifacts/mandelbrot.png/", outsider=404),
    "api-job-cancel": api(lambda o: API_JOB.format(**o) + "cancel/", "post", outsider=404, viewer=403),
    "api-job-rerun": api(lambda o: API_JOB.format(**o) + "rerun/", "post", outsider=404, viewer=403, member=201),
    "api-team-list": api(lambda o: "/api/v1/teams/"),
    "api-team-detail": api(lambda o: "/api/v1/teams/team-a/", outsider=404),
    "api-worker-list": api(lambda o: "/api/v1/workers/"),
    "api-log-search": api(lambda o: "/api/v1/search/logs/?q=boom"),
    "study-list": page(lambda o: "/studies/"),
    "study-new": page(lambda o: "/studies/new/?workload=fib"),
    "study-preset": page(
        lambda o: "/studies/presets/seed-fib/", "post", outsider=404, viewer=403, member=302, data={"team": "team-a"}
    ),
    "study-detail": page(lambda o: STUDY.format(**o), outsider=404),
    "study-cancel": page(lambda o: STUDY.format(**o) + "cancel/", "post", outsider=404, viewer=403, member=302),
    "compare": page(lambda o: "/compare/?jobs={job},{job2}".format(**o), outsider=404),
    "api-study-list": api(lambda o: "/api/v1/studies/"),
    "api-study-presets": api(lambda o: "/api/v1/studies/presets/"),
    "api-study-detail": api(lambda o: API_STUDY.format(**o), outsider=404),
    "api-study-cancel": api(lambda o: API_STUDY.format(**o) + "cancel/", "post", outsider=404, viewer=403),
    "api-study-export": api(lambda o: API_STUDY.format(**o) + "export.json", outsider=404),
    "api-study-chart": api(lambda o: API_STUDY.format(**o) + "chart.svg", outsider=404),
    "api-job-export": api(lambda o: "/api/v1/exports/jobs.json"),
    "api-compare": api(lambda o: "/api/v1/compare/?jobs={job},{job2}".format(**o), outsider=404),
    "schema": public(lambda o: "/api/schema/"),
    "api-docs": public(lambda o: "/api/docs/"),
    "api-redoc": public(lambda o: "/api/redoc/"),
}
# The job-create endpoint shares its route name with the list; it is a write.
WRITES = [
    ("api-job-list", api(lambda o: "/api/v1/jobs/", "post", outsider=400, viewer=403, member=201, data=SUBMIT)),
    (
        "api-study-list",
        api(
            lambda o: "/api/v1/studies/",
            "post",
            outsider=400,
            viewer=403,
            member=201,
            data={**SUBMIT, "backends": ["threads"], "workers": [1], "repetitions": 1},
        ),
    ),
]


def route_names() -> set[str]:
    def walk(patterns):
        for p in patterns:
            if isinstance(p, URLResolver):
                if not str(p.pattern).startswith("admin"):
                    yield from walk(p.url_patterns)
            elif isinstance(p, URLPattern) and p.name:
                yield p.name

    return set(walk(get_resolver().url_patterns))


def test_every_route_has_a_case():
    missing = route_names() - set(CASES)
    assert not missing, f"routes without an access case: {sorted(missing)}"
    assert not set(CASES) - route_names(), "cases for routes that no longer exist"


@pytest.fixture
def objects(team_setup):
    o = dict(team_setup)
    job = Job.objects.create(team=o["team_a"], submitted_by=o["alice"], workload="fib", params={"ns": [5]},
                             backend="sequential", implementation="python", log=["boom"])  # fmt: skip
    Artifact.objects.create(
        job=job, name="mandelbrot.png", file=ContentFile(b"\x89PNG", name="a.png"), size=4, sha256="0"
    )
    o["job"] = job.pk
    second = Job.objects.create(team=o["team_a"], submitted_by=o["alice"], workload="fib", params={"ns": [5]},
                                backend="threads", implementation="python")  # fmt: skip
    o["job2"] = second.pk
    study = Study.objects.create(team=o["team_a"], created_by=o["alice"], title="s", workload="fib",
                                 params={"ns": [5]}, backends=["sequential", "threads"], implementations=["python"],
                                 workers=[1], repetitions=1)  # fmt: skip
    StudyRun.objects.bulk_create(
        [StudyRun(study=study, job=job, repetition=1), StudyRun(study=study, job=second, repetition=1)]
    )
    o["study"] = study.pk
    o["token"], _ = token_create(user=o["alice"], name="alice's")
    o["invitation"], o["invitation_secret"] = invitation_create(actor=o["alice"], team=o["team_a"], role="member")
    o["webhook"] = Webhook.objects.create(team=o["team_a"], url="https://example.org/hook", secret="x" * 16,
                                          created_by=o["alice"])  # fmt: skip
    return o


def client_for(actor: str, objects: dict[str, Any], is_api: bool):
    user = {"anon": None, "outsider": objects["mallory"], "viewer": objects["vera"], "member": objects["bob"]}[actor]
    if is_api:
        client = APIClient()
        if user is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_create(user=user, name='matrix')[1]}")
        return client
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.parametrize("actor", ["anon", "outsider", "viewer", "member"])
@pytest.mark.parametrize("name, case", list(CASES.items()) + WRITES, ids=[*CASES, *(w[0] + "-post" for w in WRITES)])
def test_access(objects, name, case, actor):
    path = case.url(objects)
    is_api = path.startswith("/api/v1/")
    client = client_for(actor, objects, is_api)
    if is_api:
        response = getattr(client, case.method)(path, case.data, format="json")
    else:
        response = getattr(client, case.method)(path, case.data)
    assert response.status_code == case.expect[actor], (name, actor, response.status_code)
    if actor == "anon" and not is_api and case.expect["anon"] == 302 and name != "logout":
        assert response["Location"].startswith(LOGIN)
    if actor == "member" and name == "study-preset":  # a refused preset is not a redirect: this one was made
        assert response["Location"] == f"/studies/{Study.objects.latest('pk').pk}/"
    if actor == "outsider" and response.status_code == 200:
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert f"/jobs/{objects['job']}/".encode() not in body, f"{name} shows team A's job to team B"
    assert ApiToken.objects.get(pk=objects["token"].pk).revoked_at is None, "someone else revoked alice's token"
    assert Invitation.objects.get(pk=objects["invitation"].pk).state == "pending", "a non-owner spent an invitation"
    assert list(Webhook.objects.all()) == [objects["webhook"]], "a non-owner added or removed a webhook"
    assert not WebhookDelivery.objects.exists(), "a non-owner sent a test delivery"


WS_CASES = {"ws/jobs/<id:job_id>/": "/ws/jobs/{job}/", "ws/teams/<slug:slug>/": "/ws/teams/team-a/"}


def test_every_websocket_route_has_a_case():
    assert {str(p.pattern) for p in websocket_urlpatterns} == set(WS_CASES)


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.parametrize("route", list(WS_CASES))
async def test_websocket_access(team_setup, route):
    from channels.db import database_sync_to_async
    from channels.testing import WebsocketCommunicator

    from webapp.asgi import application

    job = await database_sync_to_async(Job.objects.create)(
        team=team_setup["team_a"], submitted_by=team_setup["alice"], workload="fib", params={}, backend="sequential",
        implementation="python")  # fmt: skip
    path = WS_CASES[route].format(job=job.pk)
    for user, expected in ((None, 4401), (team_setup["mallory"], 4404), (team_setup["vera"], None)):
        headers = [(b"origin", b"http://localhost")]
        if user is not None:
            client = Client()
            await database_sync_to_async(client.force_login)(user)
            headers.append((b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()))
        communicator = WebsocketCommunicator(application, path, headers=headers)
        assert (await communicator.connect(timeout=5))[0]
        message = await communicator.receive_output(timeout=5)
        if expected is None:
            assert message["type"] == "websocket.send"
        else:
            assert message == {"type": "websocket.close", "code": expected}
        await communicator.disconnect()
