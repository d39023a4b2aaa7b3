"""The dates a live event carries (ISO 8601 in UTC with Z, as the API's) are drawn by the pages as the server
renders them: the same text live as after a reload."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.db import transaction
from django.utils import timezone

from tests.browser.test_page_layout import in_a_thread
from webapp.jobs.models import Job, Status

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

# Microseconds, and a zone other than UTC: what is drawn is the instant, in UTC, to the second.
QUEUED = datetime.fromisoformat("2026-11-29T20:09:05.123456+02:00")
STARTED = datetime.fromisoformat("2026-11-29T20:10:05.123456+02:00")
FINISHED = datetime.fromisoformat("2026-11-29T20:10:07.5+02:00")
TIMINGS = ("started_at", "finished_at", "queue_time")


def test_a_job_s_dates_drawn_live_are_the_server_s(team_setup, open_page):
    from playwright.sync_api import expect

    from webapp.jobs.events import publish_job
    from webapp.jobs.services import job_transition

    alice, team = team_setup["alice"], team_setup["team_a"]
    dashboard = open_page("alice")
    expect(dashboard.locator("h1 .live-state")).to_have_attribute("data-state", "live")
    jobs: list[Job] = []

    def submit():
        with transaction.atomic():  # no one sees the row before its queued_at is set (it is set on create)
            job = Job.objects.create(team=team, submitted_by=alice, workload="fib", params={"ns": [22]},
                                     backend="sequential", implementation="python")  # fmt: skip
            # Marked as sent: the suite worker's sweeper sends a queued job never sent after 10 s (this one was
            # queued hours ago), and a real run then set started_at under the test (seen on a loaded host).
            Job.objects.filter(pk=job.pk).update(queued_at=QUEUED, dispatched_at=timezone.now())
        jobs.append(job)
        publish_job(job.pk)

    in_a_thread(submit)
    job_id = jobs[0].pk
    queued = dashboard.locator(f'tr[data-job-id="{job_id}"] [data-field="queued_at"]')
    expect(queued).to_have_text("2026-11-29 18:09:05")  # from the feed's event
    dashboard.reload()
    expect(queued).to_have_text("2026-11-29 18:09:05")  # from the server

    page = dashboard.context.new_page()
    page.goto(f"/jobs/{job_id}/")
    expect(page.locator(".summary .live-state")).to_have_text("live")
    expect(page.locator('[data-field="started_at"]')).to_have_text("—")

    def run():
        job_transition(job_id=job_id, to=Status.RUNNING, started_at=STARTED, worker_host="node-1")
        job_transition(job_id=job_id, to=Status.SUCCEEDED, finished_at=FINISHED, wall_time=2.4, verified=True,
                       result=[17711])  # fmt: skip
        publish_job(job_id)

    in_a_thread(run)
    expect(page.locator('[data-field="status"]')).to_have_text("Succeeded")
    expect(page.locator('[data-field="started_at"]')).to_have_text("2026-11-29 18:10:05 UTC")
    expect(page.locator('[data-field="finished_at"]')).to_have_text("2026-11-29 18:10:07 UTC")
    expect(page.locator('[data-field="queue_time"]')).to_have_text("1 min 00 s")
    drawn = {name: page.locator(f'[data-field="{name}"]').inner_text() for name in TIMINGS}
    page.reload()
    assert {name: page.locator(f'[data-field="{name}"]').inner_text() for name in TIMINGS} == drawn
