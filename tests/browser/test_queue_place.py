"""A job queued behind a study, in Chromium: its page says where it stands and what it waits behind, and
keeps saying it as the queue moves (here: the study ahead is cancelled from another tab), without a reload."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from webapp.jobs.models import Job
from webapp.studies.services import study_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"


@pytest.fixture
def unserved_queues(settings):
    """Send this test's jobs to queues no worker serves, so nothing ahead moves unless the test moves it."""
    settings.CELERY_TASK_DEFAULT_QUEUE = os.environ["PARALAB_QUEUE"] + "-nobody"


def make_study(user, team):
    return study_create(user=user, team=team, workload="fib", params={"ns": [20]}, backends=["sequential", "threads"],
                        workers=[2], repetitions=2)  # fmt: skip


@pytest.fixture
def behind_a_study(team_setup, unserved_queues):
    """Alice's study of four jobs, then another: the second's first job waits behind the first study.

    A fixture, so it runs before the browser starts (Django refuses the database once Playwright's loop runs).
    """
    alice, team_a = team_setup["alice"], team_setup["team_a"]
    ahead = make_study(alice, team_a)
    job = Job.objects.filter(study_run__study=make_study(alice, team_a)).order_by("queued_at", "id").first()
    return ahead, job


def test_a_job_behind_a_study_shows_its_place_and_follows_the_queue(behind_a_study, open_page):
    ahead, job = behind_a_study
    page = open_page("alice")
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"/jobs/{job.pk}/")
    place = page.locator('[data-server-part="queue"]')
    expect(place).to_be_visible()
    expect(place.locator(".queue-summary")).to_contain_text(
        f"5th of 8 waiting in the study queue, behind 4 jobs of study #{ahead.pk} (Team A)."
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    place.screenshot(path=str(SCREENSHOTS / "queue-place.png"))
    page.evaluate("() => { window.stillTheSamePage = true; }")

    other = open_page("alice")
    other.goto(f"/studies/{ahead.pk}/")
    other.get_by_role("button", name="Cancel the study").click()

    expect(place.locator(".queue-summary")).to_have_text(
        re.compile(r"^1st of 4 waiting in the study queue\."), timeout=15_000
    )
    assert page.evaluate("window.stillTheSamePage") is True  # redrawn in place, not reloaded
