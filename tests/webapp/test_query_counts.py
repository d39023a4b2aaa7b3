"""Query counts, generated from the URL conf: every page and every API read costs the same number of
queries with 2 rows as with 12 (jobs, studies and their runs, teams, members, tokens, invitations,
webhooks), or this test fails. A route that only writes is listed in WRITES, with no count.

The counts are taken on the second request (the first warms per-process caches: content types,
the workers' status), as alice, who owns team A and so sees every owner-only part of a page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tests.webapp.test_access_matrix import route_names
from webapp.accounts.services import token_create
from webapp.jobs.models import Artifact, Job, SpanBatch, Status
from webapp.notifications.models import Webhook, WebhookDelivery
from webapp.studies.models import Study, StudyRun
from webapp.teams.models import Role
from webapp.teams.services import invitation_create, member_set_role, team_create

pytestmark = pytest.mark.django_db

Url = Callable[[dict[str, Any]], str]

READS: dict[str, Url] = {
    "login": lambda o: "/accounts/login/",  # anonymous: a logged-in user is sent on
    "signup": lambda o: "/accounts/signup/",
    "password_reset": lambda o: "/accounts/password-reset/",
    "password_reset_done": lambda o: "/accounts/password-reset/sent/",
    "password_reset_confirm": lambda o: "/accounts/reset/MQ/not-a-token/",
    "password_reset_complete": lambda o: "/accounts/reset/done/",
    "invitation-accept": lambda o: f"/invitations/{o['secret']}/",
    "profile": lambda o: "/profile/",
    "dashboard": lambda o: "/",
    "job-history": lambda o: "/jobs/",
    "job-submit": lambda o: "/jobs/new/?workload=fib",
    "job-detail": lambda o: f"/jobs/{o['job']}/",
    "job-artifact": lambda o: f"/jobs/{o['job']}/artifacts/mandelbrot.png",
    "team-list": lambda o: "/teams/",
    "team-detail": lambda o: "/teams/team-a/",
    "worker-list": lambda o: "/workers/",
    "log-search": lambda o: "/search/logs/?q=boom",
    "study-list": lambda o: "/studies/",
    "study-new": lambda o: "/studies/new/?workload=fib",
    "study-detail": lambda o: f"/studies/{o['study']}/",
    "compare": lambda o: "/compare/?jobs=" + ",".join(map(str, o["jobs"][:10])),
    "api-root": lambda o: "/api/v1/",
    "api-workload-list": lambda o: "/api/v1/workloads/",
    "api-workload-detail": lambda o: "/api/v1/workloads/fib/",
    "api-job-list": lambda o: "/api/v1/jobs/",
    "api-job-detail": lambda o: f"/api/v1/jobs/{o['job']}/",
    "api-job-artifact": lambda o: f"/api/v1/jobs/{o['job']}/artifacts/mandelbrot.png/",
    "api-team-list": lambda o: "/api/v1/teams/",
    "api-team-detail": lambda o: "/api/v1/teams/team-a/",
    "api-worker-list": lambda o: "/api/v1/workers/",
    "api-log-search": lambda o: "/api/v1/search/logs/?q=boom",
    "api-study-list": lambda o: "/api/v1/studies/",
    "api-study-presets": lambda o: "/api/v1/studies/presets/",
    "api-study-detail": lambda o: f"/api/v1/studies/{o['study']}/",
    "api-study-export": lambda o: f"/api/v1/studies/{o['study']}/export.json",
    "api-study-chart": lambda o: f"/api/v1/studies/{o['study']}/chart.svg",
    "api-job-export": lambda o: "/api/v1/exports/jobs.json",
    "api-compare": lambda o: "/api/v1/compare/?jobs=" + ",".join(map(str, o["jobs"][:10])),
    "schema": lambda o: "/api/schema/",
    "api-docs": lambda o: "/api/docs/",
    "api-redoc": lambda o: "/api/redoc/",
}
# Extra reads of a route: the study comparison, and the CSV downloads.
MORE_READS: dict[str, Url] = {
    "compare-studies": lambda o: "/compare/?studies=" + ",".join(map(str, o["studies"][:10])),
    "api-compare-studies": lambda o: "/api/v1/compare/?studies=" + ",".join(map(str, o["studies"][:10])),
    "api-study-export-csv": lambda o: f"/api/v1/studies/{o['study']}/export.csv",
    "api-job-export-csv": lambda o: "/api/v1/exports/jobs.csv",
}
ANONYMOUS = {"login", "signup", "password_reset", "password_reset_done", "password_reset_confirm",
             "password_reset_complete"}  # fmt: skip
WRITES = {"logout", "job-email-set", "token-create", "token-revoke", "job-cancel", "team-member-set", "team-invite",
          "team-invitation-revoke", "webhook-add", "webhook-test", "webhook-remove", "study-preset", "study-cancel",
          "api-job-cancel", "api-job-rerun", "api-study-cancel"}  # fmt: skip


def test_every_route_is_counted_or_a_write():
    missing = route_names() - set(READS) - WRITES
    assert not missing, f"routes without a query-count case: {sorted(missing)}"
    assert not (set(READS) | WRITES) - route_names(), "cases for routes that no longer exist"


class World:
    """Team A's rows, grown a few at a time by ``add``: alice sees more of everything with each call."""

    def __init__(self, team_setup: dict[str, Any]):
        self.o = team_setup
        self.alice, self.team = team_setup["alice"], team_setup["team_a"]
        self.study = Study.objects.create(team=self.team, created_by=self.alice, title="s", workload="fib",
                                          params={"ns": [5]}, backends=["sequential", "threads"],
                                          implementations=["python"], workers=[1, 2], repetitions=1)  # fmt: skip
        self.jobs: list[int] = []
        self.studies: list[int] = [self.study.pk]
        self.teams = 0
        _, self.secret = invitation_create(actor=self.alice, team=self.team, role="member")

    def urls(self) -> dict[str, Any]:
        return {"job": self.jobs[0], "jobs": self.jobs, "study": self.study.pk, "studies": self.studies,
                "secret": self.secret}  # fmt: skip

    def add(self, n: int) -> None:
        states = [Status.SUCCEEDED, Status.FAILED, Status.RUNNING, Status.QUEUED, Status.CANCELLED]
        for i in range(n):
            status = states[len(self.jobs) % len(states)]
            job = Job.objects.create(
                team=self.team, submitted_by=self.alice, workload="fib", params={"ns": [5]},
                backend=["sequential", "threads"][i % 2], implementation="python", workers=1 + i % 2, status=status,
                log=["boom"], wall_time=1.0 + i if status == Status.SUCCEEDED else None,
                verified=True if status == Status.SUCCEEDED else None,
                progress={"done": 1, "total": 1, "seq": 1}, provenance={"host": f"h{i}", "cores": 2},
                rerun_of_id=self.jobs[0] if self.jobs else None,
            )  # fmt: skip
            Artifact.objects.create(job=job, name="mandelbrot.png", file=ContentFile(b"\x89PNG", name="a.png"),
                                    size=4, sha256="0")  # fmt: skip
            SpanBatch.objects.create(job=job, first=0, spans=[{"unit": 0, "worker": 0, "start": 0, "end": 1}])
            StudyRun.objects.create(study=self.study, job=job, repetition=1 + i % 2)
            self.jobs.append(job.pk)
            other = Study.objects.create(team=self.team, created_by=self.alice, title=f"s{len(self.studies)}",
                                         workload="fib", params={"ns": [5]}, backends=["sequential"],
                                         implementations=["python"], workers=[1], repetitions=1)  # fmt: skip
            StudyRun.objects.create(study=other, job=Job.objects.create(
                team=self.team, submitted_by=self.alice, workload="fib", params={"ns": [5]}, backend="sequential",
                implementation="python", status=Status.SUCCEEDED, wall_time=2.0, verified=True), repetition=1)  # fmt: skip
            self.studies.append(other.pk)
            self.teams += 1
            team = team_create(name=f"Team X{self.teams}", owner=self.alice)
            Job.objects.create(team=team, submitted_by=self.alice, workload="fib", params={"ns": [5]},
                               backend="sequential", implementation="python", log=["boom"])  # fmt: skip
            member = type(self.alice).objects.create_user(username=f"m{self.teams}", password="pw-for-tests-1")
            member_set_role(actor=self.alice, team=self.team, user=member, role=Role.MEMBER)
            token_create(user=self.alice, name=f"t{self.teams}")
            invitation_create(actor=self.alice, team=self.team, role="viewer")
            hook = Webhook.objects.create(team=self.team, url=f"https://example.org/{i}", secret="x" * 16,
                                          created_by=self.alice)  # fmt: skip
            WebhookDelivery.objects.create(webhook=hook, job=job, event="job.finished", payload={"id": job.pk},
                                           status="delivered", attempt_count=1,
                                           attempts=[{"at": "2026-01-01T00:00:00Z", "code": 200}])  # fmt: skip


@pytest.fixture
def world(team_setup, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return World(team_setup)


def fetch(world: World, name: str, url: Url) -> tuple[int, list[str]]:
    path = url(world.urls())
    if name in ANONYMOUS:
        client: Any = Client()
    elif path.startswith("/api/v1/"):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_create(user=world.alice, name='counting')[1]}")
    else:
        client = Client()
        client.force_login(world.alice)
    client.get(path)  # warm-up
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
        if response.streaming:
            b"".join(response.streaming_content)
    assert response.status_code in (200, 404), (name, response.status_code)  # signup is off: 404
    return len(queries), [q["sql"] for q in queries.captured_queries]


@pytest.mark.parametrize("name, url", list(READS.items()) + list(MORE_READS.items()), ids=[*READS, *MORE_READS])
def test_query_count_does_not_grow_with_rows(world, name, url):
    world.add(2)
    few, _ = fetch(world, name, url)
    world.add(10)
    many, sql = fetch(world, name, url)
    assert many == few, f"{name}: {few} queries with 2 rows, {many} with 12:\n" + "\n".join(sql)


# Repeated work: creating a study, and comparing jobs or studies, cost the same whatever their size.


class RedisConnections:
    """Counts the Redis connections this process opens (redis-py's and its asyncio twin's), the real ones."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        import redis.asyncio.connection
        import redis.connection

        self.opened = 0
        for cls in (redis.connection.AbstractConnection, redis.asyncio.connection.AbstractConnection):
            monkeypatch.setattr(cls, "connect", self._counting(cls.connect))

    def _counting(self, connect: Callable[..., Any]) -> Callable[..., Any]:
        def counted(conn: Any, *args: Any, **kwargs: Any) -> Any:
            if getattr(conn, "_sock", None) is None and getattr(conn, "_reader", None) is None:
                self.opened += 1  # not yet connected: this call opens a socket
            return connect(conn, *args, **kwargs)

        return counted


def create_study(team_setup: dict[str, Any], redis_connections: RedisConnections, capture: Any, **sweep: Any):
    """Queries and Redis connections of one study_create, its jobs sent to the broker once it commits."""
    from tasks.queues import queue_name
    from webapp.studies.services import study_create

    before = redis_connections.opened
    with capture(execute=True), CaptureQueriesContext(connection) as queries:
        study = study_create(user=team_setup["alice"], team=team_setup["team_a"], workload="fib",
                             params={"ns": [5]}, **sweep)  # fmt: skip
    jobs = Job.objects.filter(study_run__study=study)
    assert jobs.count() == study.runs.count() and not jobs.filter(dispatched_at=None).exists()
    import redis
    from django.conf import settings

    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(queue_name("study"))  # no worker here takes them
    return study.runs.count(), len(queries), redis_connections.opened - before


def test_creating_a_study_costs_the_same_queries_and_redis_connections_for_2_or_24_jobs(
    team_setup, monkeypatch, django_capture_on_commit_callbacks
):
    redis_connections = RedisConnections(monkeypatch)
    small = dict(backends=["threads"], workers=[1], repetitions=1)
    # Up to 34 jobs: SQLite takes at most 999 parameters a statement, so Django splits a bulk INSERT of
    # the job table's 28 columns every 35 rows there (PostgreSQL takes them all in one).
    large = dict(backends=["threads", "processes"], workers=[1, 2, 3, 4, 5], repetitions=2)
    create_study(team_setup, redis_connections, django_capture_on_commit_callbacks, **small)  # warm-up
    jobs_few, queries_few, redis_few = create_study(
        team_setup, redis_connections, django_capture_on_commit_callbacks, **small
    )
    jobs_many, queries_many, redis_many = create_study(
        team_setup, redis_connections, django_capture_on_commit_callbacks, **large
    )
    assert (jobs_few, jobs_many) == (2, 22)
    assert queries_many == queries_few, f"{queries_few} queries for {jobs_few} jobs, {queries_many} for {jobs_many}"
    assert redis_many == redis_few, f"{redis_few} Redis connections for {jobs_few} jobs, {redis_many} for {jobs_many}"


def test_a_study_s_jobs_are_queued_repetition_by_repetition_in_the_plan_s_order(team_setup):
    from webapp.studies.services import study_create

    study = study_create(user=team_setup["alice"], team=team_setup["team_a"], workload="fib", params={"ns": [5]},
                         backends=["threads"], workers=[1, 2], repetitions=2)  # fmt: skip
    runs = [(r.repetition, r.job.backend, r.job.workers, r.job.capability, r.job.status) for r in study.runs.all()]
    one = [("sequential", 1), ("threads", 1), ("threads", 2)]
    assert runs == [(rep, b, w, "study", "queued") for rep in (1, 2) for b, w in one]
    assert [r.job_id for r in study.runs.all()] == sorted(r.job_id for r in study.runs.all())
