"""Page layout in Chromium (issue 14): the study page in one screen at 1440 px with each chart's title above it and
a labelled log time axis; dark mode from the system setting, charts included; the job tables' status column on a
390 px screen; a viewer's disabled Submit that looks disabled.

Jobs and studies are written straight to the database, finished: no broker message, so a worker running for other
tests in the session has nothing to claim."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from webapp.jobs.models import Job, Status
from webapp.studies.models import Study, StudyRun

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# (backend, implementation, workers): wall time. Native ~40× faster, as fib measures: time needs a log axis.
TIMES = {
    ("sequential", "python", 1): 2.0,
    ("sequential", "native", 1): 0.05,
    ("processes", "python", 1): 2.05,
    ("processes", "python", 2): 1.1,
    ("processes", "python", 3): 0.8,
    ("processes", "native", 1): 0.052,
    ("processes", "native", 2): 0.03,
    ("processes", "native", 3): 0.024,
}


def finished_job(team, user, *, backend="processes", implementation="python", workers=2, wall_time=1.0, **fields):
    now = timezone.now()
    values = {"status": Status.SUCCEEDED, "verified": True, "wall_time": wall_time, "result": [1],
              "started_at": now, "finished_at": now, "progress": {"done": 2, "total": 2}, **fields}  # fmt: skip
    return Job.objects.create(team=team, submitted_by=user, workload="fib", params={"ns": [22, 21]},
                              backend=backend, implementation=implementation, workers=workers, **values)  # fmt: skip


def finished_study(team, user) -> Study:
    study = Study.objects.create(team=team, created_by=user, title="fib, python and native", workload="fib",
                                 params={"ns": [22, 21]}, backends=["sequential", "processes"],
                                 implementations=["python", "native"], workers=[1, 2, 3], repetitions=3)  # fmt: skip
    for repetition in (1, 2, 3):
        for (backend, implementation, workers), wall in TIMES.items():
            job = finished_job(team, user, backend=backend, implementation=implementation, workers=workers,
                               wall_time=wall * (1 + repetition / 50), capability="study")  # fmt: skip
            StudyRun.objects.create(study=study, job=job, repetition=repetition)
    return study


# Written before the browser starts: while Playwright runs, Django refuses database access in this thread.
@pytest.fixture
def study(team_setup) -> Study:
    return finished_study(team_setup["team_a"], team_setup["alice"])


@pytest.fixture
def job(team_setup) -> Job:
    return finished_job(team_setup["team_a"], team_setup["alice"])


BOXES = """() => [...document.querySelectorAll("[data-chart-figure]")].map((figure) => {
  const box = (el) => { const r = el.getBoundingClientRect(); return { top: r.top + scrollY, bottom: r.bottom + scrollY, left: r.left, height: r.height }; };
  return { name: figure.dataset.chartFigure, title: box(figure.querySelector(".chart-title")), chart: box(figure.querySelector("canvas")) };
})"""


def test_the_study_page_fits_one_screen_with_titles_above_the_charts(study, open_page):
    page = open_page("alice")
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"/studies/{study.pk}/")
    page.wait_for_function("() => window.paralabStudyCharts && window.paralabStudyCharts.time")
    figures = page.evaluate(BOXES)
    assert [f["name"] for f in figures] == ["speedup", "time", "efficiency", "karp_flatt"]
    for figure in figures:
        # The title sits right above its own chart (under it, it read as the next chart's title).
        assert 0 <= figure["chart"]["top"] - figure["title"]["bottom"] < 30, figure
        assert 200 <= figure["chart"]["height"] <= 260, figure
    # 2 × 2: two charts side by side on each row, and the four end within the first screen (the page was ~5,400 px).
    speedup, time, efficiency, karp_flatt = (f["chart"] for f in figures)
    assert speedup["top"] == time["top"] and efficiency["top"] == karp_flatt["top"] and time["left"] > speedup["left"]
    assert karp_flatt["bottom"] <= 900, figures
    # The log time axis is labelled below 1 s too.
    labels = page.evaluate("""() => { const y = window.paralabStudyCharts.time.scales.y;
      return y.ticks.map((tick, index) => y.getLabelForValue ? y.options.ticks.callback(tick.value, index, y.ticks) : "").filter(Boolean); }""")
    assert page.evaluate("window.paralabStudyCharts.time.scales.y.type") == "logarithmic"
    assert {"0.02", "0.05", "0.1", "0.2", "0.5", "1", "2"} <= set(labels), labels
    # The page and the SVG download draw a series in the same colour (one palette, in the study JSON).
    colour = page.evaluate("""() => window.paralabStudyCharts.efficiency.data.datasets
      .find((d) => d.label === "processes × native").borderColor""")
    svg = page.request.get(f"/api/v1/studies/{study.pk}/chart.svg?chart=efficiency").text()
    assert f'stroke="{colour}"' in svg


def colours(page, selector: str) -> dict[str, str]:
    return page.evaluate(
        """(selector) => { const s = getComputedStyle(document.querySelector(selector));
           return { color: s.color, background: s.backgroundColor }; }""",
        selector,
    )


def test_dark_mode_follows_the_system_setting_charts_included(study, open_page):
    page = open_page("alice")
    page.goto(f"/studies/{study.pk}/")
    page.wait_for_function("() => window.paralabStudyCharts && window.paralabStudyCharts.time")
    assert colours(page, "body")["background"] == "rgb(255, 255, 255)"

    page.emulate_media(color_scheme="dark")
    page.reload()
    page.wait_for_function("() => window.paralabStudyCharts && window.paralabStudyCharts.time")
    body = colours(page, "body")
    assert body["background"] == "rgb(19, 23, 29)" and body["color"] == "rgb(227, 231, 238)"  # --bg, --ink
    assert colours(page, "table.scaling thead th")["background"] == "rgb(29, 34, 43)"  # --panel
    # The chart is drawn on the dark background, its tick labels in the light ink.
    corner = page.evaluate("""() => [...document.querySelector('canvas[data-chart="time"]').getContext("2d")
      .getImageData(2, 2, 1, 1).data].slice(0, 3)""")
    assert corner == [19, 23, 29]
    assert page.evaluate("window.paralabStudyCharts.time.options.scales.x.ticks.color") == "#e3e7ee"


def test_the_status_column_stays_on_a_390_px_screen(job, open_page):
    page = open_page("alice")
    page.set_viewport_size({"width": 390, "height": 844})
    for path in ("/", "/jobs/"):
        page.goto(path)
        # Found and measured inside the page in one turn of its event loop, again until it is drawn: the team
        # feed redraws the rows when its socket connects, and an element Playwright found a moment earlier
        # may be the old, detached badge (CI saw None from bounding_box(), then a 0×0 box from evaluate()).
        box = page.wait_for_function(
            """(id) => {
                const badge = document.querySelector(`tr[data-job-id="${id}"] [data-field="status"] .badge`);
                const r = badge && badge.getBoundingClientRect();
                return r && r.width > 0 ? {x: r.x, width: r.width} : null;
            }""",
            arg=job.pk,
        ).json_value()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, (path, box)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # the page itself does not scroll sideways


def test_a_viewers_disabled_submit_looks_disabled(team_setup, open_page):
    page = open_page("vera")  # a viewer: may look, not submit
    page.goto("/jobs/new/")
    submit = page.get_by_role("button", name="Submit")
    assert submit.is_disabled()
    disabled = submit.evaluate(
        "(b) => { const s = getComputedStyle(b); return [s.backgroundColor, s.color, s.cursor]; }"
    )
    enabled = page.evaluate("""() => { const b = document.createElement("button"); document.body.append(b);
      const s = getComputedStyle(b); return [s.backgroundColor, s.color, s.cursor]; }""")
    assert enabled == ["rgb(36, 86, 166)", "rgb(255, 255, 255)", "pointer"]  # --accent, as before
    assert disabled == ["rgb(245, 247, 250)", "rgb(93, 102, 120)", "not-allowed"]  # --panel, --muted


@pytest.fixture
def running_study(team_setup) -> Study:
    team, user = team_setup["team_a"], team_setup["alice"]
    study = Study.objects.create(team=team, created_by=user, title="two jobs", workload="fib", params={"ns": [22]},
                                 backends=["sequential"], implementations=["python"], workers=[1], repetitions=2)  # fmt: skip
    for repetition in (1, 2):
        # Heart-beating far ahead: a suite worker's reaper ends a running job silent for 30 s, and the test
        # can take that long on a loaded host.
        job = finished_job(team, user, backend="sequential", workers=1, capability="study", status=Status.RUNNING,
                           verified=None, wall_time=None, finished_at=None,
                           heartbeat_at=timezone.now() + timedelta(hours=1))  # fmt: skip
        StudyRun.objects.create(study=study, job=job, repetition=repetition)
    return study


def in_a_thread(work) -> None:
    """Database work while Playwright's loop runs in this thread (Django refuses it here): as a worker would."""
    import threading

    from django.db import connection

    def run():
        try:
            work()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)


def test_a_folded_study_counts_its_jobs_live_and_they_get_no_rows_of_their_own(running_study, open_page):
    from playwright.sync_api import expect

    from webapp.jobs.events import publish_job
    from webapp.jobs.services import job_transition

    page = open_page("alice")
    page.goto("/")
    fold = page.locator(f'[data-study-fold="{running_study.pk}"]')
    expect(fold.locator('[data-field="study-progress"]')).to_have_text("0/2 jobs finished")
    expect(page.locator("h1 .live-state")).to_have_attribute("data-state", "live")
    job_ids: list[int] = []
    in_a_thread(lambda: job_ids.extend(running_study.runs.order_by("id").values_list("job_id", flat=True)))

    def finish():
        job_transition(job_id=job_ids[0], to=Status.SUCCEEDED, wall_time=0.5, verified=True, result=[1])
        publish_job(job_ids[0])

    in_a_thread(finish)
    expect(fold.locator('[data-field="study-progress"]')).to_have_text("1/2 jobs finished")
    expect(fold.locator("summary progress")).to_have_attribute("value", "1")
    expect(fold.locator(f'tr[data-job-id="{job_ids[0]}"] [data-field="status"]')).to_have_text("Succeeded")
    # Not inserted into the jobs table as a new row, as a job outside a study would be.
    assert page.locator(f'table[data-live-limit] tr[data-job-id="{job_ids[0]}"]').count() == 0
