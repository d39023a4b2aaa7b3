"""The job page's lanes in a real browser: running units grow before they end, units say what they are,
ranks are ranks, a finished run can be replayed, and a cancelled run keeps what it did."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from tests.browser.test_live_dashboard import submit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BARS = """() => {
  const chart = Chart.getChart(document.querySelector('[data-field="lanes"]'));
  if (!chart) return null;
  const title = chart.options.plugins.tooltip.callbacks.title;
  return {
    labels: chart.data.labels,
    bars: chart.data.datasets[0].data.map((b) => ({unit: b.unit, start: b.x[0], end: b.x[1], running: b.running,
                                                   name: title([{raw: b}])})),
  };
}"""


def test_a_long_unit_is_drawn_while_it_runs_and_grows(team_setup, celery_worker, open_page):
    alice = open_page("alice")
    # fib(36) in pure Python takes seconds; fib(20) is instant: lane 0 is busy long before any unit ends there.
    submit(alice, "fib", backend="processes", workers=2, params={"ns": "36, 20"})
    running = None
    deadline = time.monotonic() + 60  # the suite's worker may be starting, on a loaded host, when it is sent
    while running is None and time.monotonic() < deadline:
        lanes = alice.evaluate(BARS)
        running = next((b for b in (lanes or {}).get("bars", []) if b["running"]), None)
        if running is None:
            alice.wait_for_timeout(100)
    assert running is not None, "no unit was drawn while it ran"
    assert running["name"] == "fib(36)"
    first_end = running["end"]
    alice.wait_for_timeout(800)
    later = next((b for b in alice.evaluate(BARS)["bars"] if b["unit"] == running["unit"]), None)
    if later and later["running"]:  # still running: its bar grew with the clock, between events too
        assert later["end"] > first_end + 0.3

    expect(alice.locator('[data-field="status"]')).to_have_text("Succeeded", timeout=90_000)
    final = alice.evaluate(BARS)
    assert sorted(b["name"] for b in final["bars"]) == ["fib(20)", "fib(36)"]
    assert not any(b["running"] for b in final["bars"])

    # Replay: at a moment inside fib(36), that unit is drawn running and fib(20) is already done.
    slider = alice.locator('[data-field="replay"]')
    expect(slider).to_be_visible()
    long = next(b for b in final["bars"] if b["name"] == "fib(36)")
    middle = (long["start"] + long["end"]) / 2
    slider.evaluate("(el, t) => { el.value = String(t); el.dispatchEvent(new Event('input')); }", middle)
    replayed = {b["name"]: b for b in alice.evaluate(BARS)["bars"]}
    assert replayed["fib(36)"]["running"] and replayed["fib(36)"]["end"] == pytest.approx(middle, abs=0.01)
    assert replayed["fib(20)"]["running"] is False
    expect(alice.locator('[data-field="replay-at"]')).to_contain_text(" of ")


def test_mpi_lanes_are_ranks_and_tiny_units_still_show(team_setup, celery_worker, open_page):
    alice = open_page("alice")
    submit(alice, "mpi_ring", backend="mpi", workers=2)
    expect(alice.locator('[data-field="status"]')).to_have_text("Succeeded", timeout=60_000)
    expect(alice.locator('[data-field="lanes-section"] h2')).to_contain_text("Rank lanes")
    lanes = alice.evaluate(BARS)
    assert lanes["labels"] == ["rank 0", "rank 1"]
    assert {b["name"] for b in lanes["bars"]} == {"rank 0's part of the ring", "rank 1's part of the ring"}
    min_bar = alice.evaluate(
        "() => Chart.getChart(document.querySelector('[data-field=\"lanes\"]')).data.datasets[0].minBarLength"
    )
    assert min_bar >= 3  # a unit of microseconds is still a visible bar


def test_a_cancelled_job_keeps_its_units_and_its_time(team_setup, celery_worker, open_page):
    alice = open_page("alice")
    # Sequential: fib(20) ends at once, then fib(38) runs until the cancel.
    job_id = submit(alice, "fib", backend="sequential", workers=1, params={"ns": "20, 38"})
    expect(alice.locator('[data-field="progress"]')).to_contain_text("1/2 units", timeout=60_000)
    alice.wait_for_timeout(1000)
    alice.get_by_role("button", name="Cancel").click()
    alice.wait_for_url(re.compile(rf"/jobs/{job_id}/$"))
    expect(alice.locator('[data-field="status"]')).to_have_text("Cancelled", timeout=30_000)
    expect(alice.locator('[data-field="wall_time"]')).to_have_text(re.compile(r"^\d+(\.\d+)? s$"))
    expect(alice.locator('[data-field="lanes-section"]')).to_be_visible()
    names = {b["name"]: b for b in alice.evaluate(BARS)["bars"]}
    assert names["fib(20)"]["running"] is False
    assert names["fib(38)"]["running"] is True  # what it was doing when it was stopped
