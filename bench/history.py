"""`make bench-history`: the history page and /api/v1/jobs/ with 100,000 jobs in PostgreSQL.

Seeds a database of its own (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/paralab_bench)
once, then times requests through the full Django stack (middleware, auth, ORM, templates or
serializers) with the test client: p50 and p95 over 200 requests per view. Target: p95 ≤ 50 ms.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported for real only once Django is set up
    from django.contrib.auth.models import User

    from webapp.teams.models import Team

ROOT = Path(__file__).resolve().parent.parent
JOBS = 100_000
REQUESTS = 200
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/paralab_bench"


def ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def seed() -> tuple[User, Team]:
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from webapp.jobs.models import Job
    from webapp.teams.models import Team
    from webapp.teams.services import team_create

    User = get_user_model()
    user, _ = User.objects.get_or_create(username="historian")
    other, _ = User.objects.get_or_create(username="neighbour")
    team = Team.objects.filter(slug="history").first() or team_create(name="History", owner=user, slug="history")
    Team.objects.filter(slug="elsewhere").first() or team_create(name="Elsewhere", owner=other, slug="elsewhere")
    have = Job.objects.count()
    if have < JOBS:
        rng = random.Random(7)
        now = timezone.now()
        combos = [("fib", "processes", "python"), ("primes", "mpi", "python"), ("mandelbrot", "threads", "native"),
                  ("montecarlo_pi", "subprocesses", "python"), ("heat", "sequential", "python")]  # fmt: skip
        teams = list(Team.objects.filter(slug__in=["history", "elsewhere"]).order_by("slug"))
        batch = []
        for i in range(have, JOBS):
            workload, backend, implementation = rng.choice(combos)
            at = now - timedelta(minutes=i)
            status = rng.choice(["succeeded"] * 8 + ["failed", "cancelled"])
            batch.append(Job(team=teams[i % 2], submitted_by=user if i % 2 == 0 else other, workload=workload,
                             params={"n": i}, backend=backend, implementation=implementation, workers=rng.randint(1, 4),
                             status=status, progress={"seq": 7, "done": 6, "total": 6, "spans": [{"unit": u} for u in range(6)]},
                             result=[i], verified=status == "succeeded", wall_time=rng.random() * 10,
                             started_at=at, finished_at=at + timedelta(seconds=5)))  # fmt: skip
            if len(batch) == 5000:
                Job.objects.bulk_create(batch)
                batch.clear()
        Job.objects.bulk_create(batch)
        # bulk_create sets queued_at to now (auto_now_add); spread it so date filters mean something.
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("UPDATE jobs_job SET queued_at = started_at")
            cursor.execute("VACUUM ANALYZE jobs_job")  # index-only scans for COUNT(*) need the visibility map
    return user, team


def measure(client, path: str, token: str | None = None) -> list[float]:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    times = []
    for _ in range(REQUESTS):
        start = time.perf_counter()
        response = client.get(path, **headers)
        times.append(time.perf_counter() - start)
        assert response.status_code == 200, (path, response.status_code)
    return times


def main() -> int:
    url = os.environ.get("DATABASE_URL") or DEFAULT_URL
    if not url.startswith("postgres"):
        sys.exit("bench-history measures PostgreSQL: set DATABASE_URL=postgres://…")
    os.environ.update(DATABASE_URL=url, DEBUG="1", DJANGO_SETTINGS_MODULE="webapp.settings")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
    ensure_database(url)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, check=True, capture_output=True)
    import django

    django.setup()
    from django.test import Client

    from webapp.accounts.services import token_create

    started = time.perf_counter()
    user, team = seed()
    print(f"database ready with {JOBS:_} jobs in {time.perf_counter() - started:.1f} s")
    client = Client()
    client.force_login(user)
    token = token_create(user=user, name="bench")[1]
    views = {
        "history page": "/jobs/",
        "history page, filtered": "/jobs/?workload=fib&status=succeeded&backend=processes",
        "history page 200": "/jobs/?page=200",
        "API list": "/api/v1/jobs/",
        "API list, filtered": "/api/v1/jobs/?workload=primes&status=failed&team=history",
        "API list, date range": "/api/v1/jobs/?queued_after=2026-01-01&queued_before=2026-12-31&ordering=-wall_time",
    }
    print(f"\n{'view':28} {'p50 ms':>8} {'p95 ms':>8}  target  verdict")
    report = []
    for name, path in views.items():
        times = measure(client, path, token if path.startswith("/api/") else None)
        p50 = statistics.median(times) * 1000
        p95 = sorted(times)[int(0.95 * (len(times) - 1))] * 1000
        verdict = "PASS" if p95 <= 50 else "MISS"
        print(f"{name:28} {p50:8.1f} {p95:8.1f}  ≤ 50    {verdict}")
        report.append({"view": name, "path": path, "p50_ms": p50, "p95_ms": p95, "verdict": verdict})
    (ROOT / "build").mkdir(exist_ok=True)
    (ROOT / "build" / "bench-history.json").write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
