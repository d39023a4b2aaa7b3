"""The study page in Chromium: it follows a running study without reloading, then shows its charts drawn by
Chart.js (speedup against the ideal line; no Amdahl fit from two worker counts) and its table; a chart saves as PNG."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
FINISH = 90_000  # ms; six small jobs, a few seconds in all

# The speedup chart: its Chart.js instance, its datasets, and how many of its pixels are not background.
CHART_STATE = """() => {
  const canvas = document.querySelector('canvas[data-chart="speedup"]');
  const chart = Chart.getChart(canvas);
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let inked = 0;
  for (let i = 0; i < pixels.length; i += 4) {
    if (pixels[i + 3] > 0 && (pixels[i] < 240 || pixels[i + 1] < 240 || pixels[i + 2] < 240)) inked += 1;
  }
  return {
    exists: Boolean(chart),
    labels: chart ? chart.data.datasets.map((d) => d.label) : [],
    points: chart ? chart.data.datasets.map((d) => d.data.length) : [],
    inked,
    size: [canvas.width, canvas.height],
  };
}"""


def start_study(page, *, ns: str, backends: list[str], workers: str, repetitions: str) -> int:
    """Fill in the new-study form as a user would; return the id of the study page it lands on."""
    page.goto("/studies/new/?workload=fib")
    page.fill('input[name="params.ns"]', ns)
    for box in page.locator('input[name="backends"]').all():
        box.set_checked(box.get_attribute("value") in backends)
    page.fill('input[name="workers"]', workers)
    page.fill('input[name="repetitions"]', repetitions)
    page.get_by_role("button", name="Start the study").click()
    page.wait_for_url(re.compile(r"/studies/\d+/$"))
    return int(re.search(r"/studies/(\d+)/$", page.url).group(1))


def test_the_study_page_follows_the_study_and_draws_its_charts(team_setup, celery_worker, open_page):
    page = open_page("alice")
    study_id = start_study(page, ns="27,26", backends=["processes"], workers="1,2", repetitions="2")
    root = page.locator("[data-study-live]")
    assert root.get_attribute("data-status") in ("queued", "running")
    page.evaluate("() => { window.stillTheSamePage = true; }")

    expect(root).to_have_attribute("data-status", "succeeded", timeout=FINISH)
    assert page.evaluate("window.stillTheSamePage") is True  # followed by polling, not by reloads
    # The server-rendered table was swapped in as jobs finished.
    row = page.locator('tr[data-series="processes × python"][data-workers="2"]')
    expect(row).to_contain_text("×")
    expect(page.locator("section[data-server-part=status]")).to_contain_text("6/6 jobs finished")

    state = page.evaluate(CHART_STATE)
    assert state["exists"], state
    assert state["labels"][:2] == ["ideal (S = p)", "processes × python"]
    assert not any("Amdahl" in label for label in state["labels"])  # fitted from 3 worker counts, not from 2
    # A median speedup at each worker count whose 95% interval says there is one (an interval holding 1,
    # e.g. one process against the sequential run, is not drawn as a speedup).
    doc = page.request.get(f"/api/v1/studies/{study_id}/").json()
    points = next(s for s in doc["series"] if s["label"] == "processes × python")["points"]
    assert state["points"][1] == sum(p["speedup_clear"] for p in points)
    assert state["inked"] > 2000, state  # lines, points, axes and legend were drawn
    for name in ("time", "efficiency", "karp_flatt"):
        assert page.evaluate(f"() => Boolean(Chart.getChart(document.querySelector('canvas[data-chart={name}]')))")

    with page.expect_download() as download:
        page.locator('[data-png="speedup"]').click()
    assert download.value.suggested_filename == f"study-{study_id}-speedup.png"
    assert Path(download.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "study-tiny.png"), full_page=True)


def test_without_javascript_the_form_works_and_the_svg_links_remain(team_setup, open_page):
    page = open_page("alice", javascript=False)
    start_study(page, ns="20", backends=["threads"], workers="1", repetitions="1")
    expect(page.locator('a[href$="chart.svg?chart=speedup"]')).to_be_visible()
    expect(page.locator('[data-png="speedup"]')).to_be_hidden()  # PNG needs the drawn canvas
    expect(page.locator("#why-one-at-a-time")).to_contain_text("runs a single job at a time")
