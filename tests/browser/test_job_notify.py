"""A watched job's end in the browser: the tab title follows the job's state and, once asked for, a desktop
notification arrives when a teammate cancels the job elsewhere (the page hears it over its WebSocket)."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Chromium shows no notifications headless: record what the page asks for instead.
RECORD_NOTIFICATIONS = """
window.shownNotifications = [];
window.Notification = class extends window.Notification {
  constructor(title, options) { super(title, options); window.shownNotifications.push({title, body: options.body}); }
};
"""


@pytest.fixture
def queued_job(team_setup):
    from webapp.jobs.models import Job

    # Made directly, not submitted, and marked as sent (the suite worker's sweeper sends a queued job that was
    # never sent after 10 s): no worker takes it, so it stays queued until cancelled.
    return Job.objects.create(team=team_setup["team_a"], submitted_by=team_setup["bob"], workload="fib",
                              params={"ns": [5]}, backend="sequential", implementation="python",
                              dispatched_at=timezone.now()).pk  # fmt: skip


def test_title_and_desktop_notification_when_a_watched_job_ends(team_setup, queued_job, open_page):
    watcher = open_page("bob")
    watcher.context.grant_permissions(["notifications"])
    watcher.add_init_script(RECORD_NOTIFICATIONS)
    watcher.goto(f"/jobs/{queued_job}/")
    expect(watcher).to_have_title(f"⏳ queued · Job #{queued_job} · Paralab")
    watcher.get_by_role("button", name="Notify me when it ends").click()
    expect(watcher.get_by_role("button", name="Desktop notification on (turn off)")).to_be_visible()

    teammate = open_page("alice")
    teammate.goto(f"/jobs/{queued_job}/")
    teammate.locator('[data-field="cancel"] button').click()

    expect(watcher).to_have_title(f"■ cancelled · Job #{queued_job} · Paralab", timeout=10_000)
    assert watcher.evaluate("window.shownNotifications") == [
        {"title": f"Job #{queued_job} cancelled", "body": f"Job #{queued_job} · Paralab"}
    ]
    expect(watcher.locator('[data-field="notify-toggle"]')).to_have_count(0)


def test_no_notification_unless_asked(team_setup, queued_job, open_page):
    watcher = open_page("bob")
    watcher.context.grant_permissions(["notifications"])  # allowed for the site, but not asked for on the page
    watcher.add_init_script(RECORD_NOTIFICATIONS)
    watcher.goto(f"/jobs/{queued_job}/")
    expect(watcher.get_by_role("button", name="Notify me when it ends")).to_be_visible()
    teammate = open_page("alice")
    teammate.goto(f"/jobs/{queued_job}/")
    teammate.locator('[data-field="cancel"] button').click()
    expect(watcher).to_have_title(f"■ cancelled · Job #{queued_job} · Paralab", timeout=10_000)
    assert watcher.evaluate("window.shownNotifications") == []
