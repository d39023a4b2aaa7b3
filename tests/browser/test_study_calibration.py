"""A study with a baseline time in Chromium: started from the form, its page says "Calibrating…" and, without
reloading, then shows what was scaled (from → to, the measured baseline) and follows the jobs to the end."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_page_follows_a_calibration_then_the_jobs(team_setup, celery_worker, open_page):
    page = open_page("alice")
    page.goto("/studies/new/?workload=fib")
    page.fill('input[name="params.ns"]', "18,17")
    for box in page.locator('input[name="backends"]').all():
        box.set_checked(box.get_attribute("value") == "processes")
    page.fill('input[name="workers"]', "2")
    page.fill('input[name="repetitions"]', "1")
    page.get_by_label("Baseline of at least (s)").fill("0.5")
    page.get_by_role("button", name="Start the study").click()
    page.wait_for_url(re.compile(r"/studies/\d+/$"))
    root = page.locator("[data-study-live]")
    state = page.locator('[data-field="calibration-state"]')
    if root.get_attribute("data-status") == "calibrating":  # a fast worker may have finished already
        expect(state).to_contain_text("Calibrating… the sequential baseline runs on the study worker")
    page.evaluate("() => { window.stillTheSamePage = true; }")

    expect(root).to_have_attribute("data-status", "succeeded", timeout=90_000)
    assert page.evaluate("window.stillTheSamePage") is True  # followed by polling, not by reloads
    expect(state).to_have_text("Calibrated so that each sequential baseline lasts at least 0.5 s:")
    row = page.locator('.calibration-table tr[data-implementation="python"]')
    expect(row).to_contain_text("ns=[18, 17]")
    expect(row).to_contain_text(re.compile(r"ns=\[\d+, \d+\]\s+\d+\.\d{3} s"))
    expect(page.locator("section[data-server-part=status]")).to_contain_text("2/2 jobs finished")
