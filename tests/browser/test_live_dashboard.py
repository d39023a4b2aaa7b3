"""The live dashboard in a real browser: a job submitted through the form runs on a real Celery
worker and its page, and a teammate's dashboard, follow it over WebSockets without reloading;
another team can neither subscribe nor see it; without JavaScript the page reloads itself."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
FINISH = 60_000  # ms: the seed's fib job takes 5-10 s on two cores; generous, but bounded
SEED_FIB_38 = "39088169"  # fib(38), the first value of the seed's Pool.map(fib, [38, ..., 33])
UNITS = 6

# Samples the progress bar every 50 ms, so the test sees every value the page showed.
WATCH_PROGRESS = """() => {
  window.progressSeen = [];
  window.stillTheSamePage = true;
  setInterval(() => {
    const bar = document.querySelector('[data-field="progress"] progress');
    const value = bar && bar.hasAttribute("value") ? bar.value : null;
    if (window.progressSeen.at(-1) !== value) window.progressSeen.push(value);
  }, 50);
}"""

# Keeps every WebSocket the page opens, so the test can drop one as a network would.
RECORD_SOCKETS = """
window.openedSockets = [];
window.WebSocket = class extends window.WebSocket {
  constructor(...args) { super(...args); window.openedSockets.push(this); }
};
"""

CLOSE_CODE = """(path) => new Promise((resolve) => {
  const socket = new WebSocket(`ws://${location.host}${path}`);
  let messages = 0;
  socket.onmessage = () => { messages += 1; };
  socket.onclose = (event) => resolve({code: event.code, messages});
})"""


def submit(page, workload: str, *, backend: str, workers: int, params: dict[str, str] | None = None) -> int:
    """Submit a job through the form (parameters left at their defaults unless given); return the id it lands on."""
    page.goto(f"/jobs/new/?workload={workload}")
    for name, value in (params or {}).items():
        page.fill(f'input[name="params.{name}"]', value)
    page.select_option("select[name=backend]", backend)
    page.fill("input[name=workers]", str(workers))
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url(re.compile(r"/jobs/\d+/$"))
    return int(re.search(r"/jobs/(\d+)/$", page.url).group(1))


def submit_seed_fib(page) -> int:
    """The seed's job: fib of [38, 37, 36, 35, 34, 33] (the form's default) on processes with 2 workers."""
    return submit(page, "fib", backend="processes", workers=2)


def count_navigations(page) -> list[str]:
    seen: list[str] = []
    page.on("framenavigated", lambda frame: seen.append(frame.url) if frame == page.main_frame else None)
    return seen


def test_a_job_runs_live_for_its_team_and_stays_hidden_from_others(team_setup, celery_worker, open_page):
    # Bob (same team) and Mallory (other team) have their dashboards open before the job exists.
    bob = open_page("bob")
    expect(bob.locator(".page-head .live-state")).to_have_text("live")
    expect(bob.locator("tr[data-job-id]")).to_have_count(0)
    bob.evaluate("() => { window.stillTheSamePage = true; }")
    bob_navigations = count_navigations(bob)
    mallory = open_page("mallory")

    alice = open_page("alice")
    alice.context.add_init_script(RECORD_SOCKETS)
    job_id = submit_seed_fib(alice)
    alice.evaluate(WATCH_PROGRESS)
    alice_navigations = count_navigations(alice)

    # Mid-run: some units done, an estimate of the time left, the socket marked live.
    alice.wait_for_function(
        """(units) => { const bar = document.querySelector('[data-field="progress"] progress');
                        return bar && bar.value > 0 && bar.value < units
                               && / left$/.test(document.querySelector('[data-field="progress"]').textContent.trim()); }""",
        arg=UNITS,
        timeout=FINISH,
    )
    expect(alice.locator(".summary .live-state")).to_have_text("live")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    alice.screenshot(path=SCREENSHOTS / "job-detail-running.png", full_page=True)
    # The connection drops mid-run: the page opens a new one and picks up where it was.
    alice.evaluate("() => window.openedSockets.at(-1).close()")

    # Bob's history page, opened while the job is under way, keeps its row current too.
    history = bob.context.new_page()
    history.goto("/jobs/")
    history.evaluate("() => { window.stillTheSamePage = true; }")

    # Alice's job page follows the run.
    expect(alice.locator('[data-field="status"]')).to_have_text("Succeeded", timeout=FINISH)
    expect(alice.locator('[data-field="result"]')).to_contain_text(SEED_FIB_38)
    verdict = alice.locator('[data-field="verified"] .badge')
    expect(verdict).to_have_text("verified")
    expect(verdict).to_have_class(re.compile(r"\bverified\b"))
    expect(alice.locator('[data-field="progress"]')).to_contain_text(f"{UNITS}/{UNITS} units")
    seen = alice.evaluate("window.progressSeen")
    values = [value for value in seen if value is not None]
    assert values[-1] == UNITS, seen
    assert values == sorted(values), f"the bar went backwards: {seen}"
    assert any(0 < value < UNITS for value in values), f"no progress between start and end: {seen}"
    assert alice.evaluate("window.stillTheSamePage") is True and alice_navigations == []
    assert alice.evaluate("window.openedSockets.length") == 2

    # Worker lanes: one row per worker, one bar per unit; timings and provenance filled in without a reload.
    lanes = alice.evaluate(
        """() => { const chart = Chart.getChart(document.querySelector('[data-field="lanes"]'));
                   return {labels: chart.data.labels, bars: chart.data.datasets[0].data.length}; }"""
    )
    assert lanes == {"labels": ["worker 0", "worker 1"], "bars": UNITS}
    expect(alice.locator('[data-field="wall_time"]')).to_have_text(re.compile(r"^\d+\.\d+ s$"))
    expect(alice.locator('[data-server-part="provenance"]')).to_be_visible()
    expect(alice.locator('[data-field="cancel"]')).to_have_count(0)
    expect(alice.locator("head meta[http-equiv=refresh]")).to_have_count(0)

    alice.screenshot(path=SCREENSHOTS / "job-detail.png", full_page=True)

    # Bob's dashboard got the new row from the team feed and saw it through to the end.
    row = bob.locator(f'tr[data-job-id="{job_id}"]')
    expect(row.locator('[data-field="status"]')).to_have_text("Succeeded", timeout=FINISH)
    expect(row.locator('[data-field="progress"]')).to_have_text(f"{UNITS}/{UNITS}")
    expect(row.locator('[data-field="verified"]')).to_have_text("verified")
    expect(row.get_by_role("link", name=f"#{job_id}")).to_have_attribute("href", f"/jobs/{job_id}/")
    expect(row).to_contain_text("alice")
    assert bob.evaluate("window.stillTheSamePage") is True and bob_navigations == []
    bob.screenshot(path=SCREENSHOTS / "dashboard.png", full_page=True)
    history_row = history.locator(f'tr[data-job-id="{job_id}"]')
    expect(history_row.locator('[data-field="status"]')).to_have_text("Succeeded", timeout=FINISH)
    expect(history_row.locator('[data-field="verified"]')).to_have_text("verified")
    assert history.evaluate("window.stillTheSamePage") is True

    # Mallory's socket to team A's feed (or the job) is closed with 4404 before any message, and the page is a 404.
    assert mallory.evaluate(CLOSE_CODE, "/ws/teams/team-a/") == {"code": 4404, "messages": 0}
    assert mallory.evaluate(CLOSE_CODE, f"/ws/jobs/{job_id}/") == {"code": 4404, "messages": 0}
    expect(mallory.locator("tr[data-job-id]")).to_have_count(0)
    assert mallory.goto(f"/jobs/{job_id}/").status == 404

    # A finished job replays from the first message: lanes and result after a reload, no worker needed.
    alice.reload()
    expect(alice.locator('[data-field="lanes-section"]')).to_be_visible()
    alice.wait_for_function(
        """(units) => { const chart = Chart.getChart(document.querySelector('[data-field="lanes"]'));
                        return chart && chart.data.datasets[0].data.length === units; }""",
        arg=UNITS,
    )


def test_without_javascript_the_job_page_reloads_itself_until_the_job_ends(team_setup, celery_worker, open_page):
    page = open_page("alice", javascript=False)
    submit_seed_fib(page)
    loads: list[str] = []
    page.on("load", lambda: loads.append(page.url))
    if page.locator('[data-job-live][data-status="succeeded"]').count() == 0:
        # Without scripting, the <noscript> in <head> is parsed as markup: the refresh is real.
        expect(page.locator("head meta[http-equiv=refresh]")).to_have_count(1)

    expect(page.locator('[data-field="status"]')).to_have_text("Succeeded", timeout=FINISH)
    expect(page.locator('[data-field="result"]')).to_contain_text(SEED_FIB_38)
    expect(page.locator('[data-field="verified"]')).to_have_text("verified")
    expect(page.locator('[data-field="progress"]')).to_contain_text(f"{UNITS}/{UNITS} units")
    expect(page.locator('[data-field="per-worker"]').get_by_role("row", name=re.compile(r"worker 1"))).to_be_visible()
    expect(page.locator('[data-server-part="diagnosis"]')).to_contain_text("Load balance")
    expect(page.locator('[data-field="lanes-section"]')).to_be_hidden()
    expect(page.locator("head meta[http-equiv=refresh]")).to_have_count(0)
    assert loads, "the page never reloaded itself"


def test_log_lines_and_the_mandelbrot_image_arrive_without_a_reload(team_setup, celery_worker, open_page):
    alice = open_page("alice")

    submit(alice, "mpi_ring", backend="mpi", workers=2)
    alice.evaluate("() => { window.stillTheSamePage = true; }")
    expect(alice.locator('[data-field="status"]')).to_have_text("Succeeded", timeout=FINISH)
    expect(alice.locator('[data-field="log"]')).to_contain_text('Processor 0 received message "P0P1" from rank 1')
    expect(alice.locator('[data-field="log-note"]')).to_be_hidden()
    assert alice.evaluate("window.stillTheSamePage") is True

    job_id = submit(alice, "mandelbrot", backend="threads", workers=2, params={"width": "64", "height": "48"})
    alice.evaluate("() => { window.stillTheSamePage = true; }")
    expect(alice.locator('[data-field="status"]')).to_have_text("Succeeded", timeout=FINISH)
    image = alice.locator(f'[data-field="artifacts"] img[src="/jobs/{job_id}/artifacts/mandelbrot.png"]')
    expect(image).to_be_visible()
    alice.wait_for_function("(image) => image.complete && image.naturalWidth === 64", arg=image.element_handle())
    assert alice.evaluate("window.stillTheSamePage") is True
