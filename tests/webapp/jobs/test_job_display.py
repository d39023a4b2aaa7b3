"""The template filters of webapp/jobs/templatetags/job_display.py: durations (measured and rough, the rules of
static/js/job_display.js), provenance keys in words, the verdict badge by status."""

from __future__ import annotations

import pytest

from webapp.jobs.models import Status
from webapp.jobs.templatetags.job_display import duration, field_label, verified_badge


@pytest.mark.parametrize(
    ("seconds", "measured", "rough"),
    [
        (None, "—", "—"),
        (0.4, "0.400 s", "under 1 s"),
        (6.534, "6.534 s", "7 s"),  # "about 6.534 s left" was the ETA
        (6.5, "6.500 s", "7 s"),  # half up, as JavaScript's Math.round (Python's round gives 6)
        (57.04, "57.0 s", "57 s"),
        (97.2, "1 min 37 s", "1 min 37 s"),
        (3725, "1 h 02 min", "1 h 02 min"),
    ],
)
def test_duration_measured_and_rough(seconds, measured, rough):
    assert duration(seconds) == measured
    assert duration(seconds, "rough") == rough


def test_provenance_keys_read_as_words():
    assert field_label("cpu_model") == "CPU model"
    assert field_label("logical_cores") == "Logical cores"
    assert field_label("packages.numpy") == "numpy (package)"
    assert field_label("load_average (1 min, at start)") == "Load average (1 min, at start)"
    assert field_label("git_commit") == "Git commit"


def test_no_unchecked_badge_before_a_job_succeeded():
    for status in ("queued", "running", "failed", "cancelled"):
        assert verified_badge(None, "", status) == ""
    assert "unchecked" in verified_badge(None, "", "succeeded")
    assert "verification failed" in verified_badge(False, "", "failed")  # a failed check always shows


@pytest.mark.django_db
def test_the_job_page_words_provenance_and_shows_no_verdict_while_queued(client_for, team_setup, make_job):
    alice, team = team_setup["alice"], team_setup["team_a"]
    queued = make_job(user=alice, team=team)
    client = client_for(alice)
    assert "unchecked" not in client.get(f"/jobs/{queued.pk}/").content.decode()
    done = make_job(user=alice, team=team, status=Status.SUCCEEDED, wall_time=1.0, verified=True,
                    provenance={"cpu_model": "Test CPU", "logical_cores": 2, "packages": {"numpy": "2.4.6"}})  # fmt: skip
    html = client.get(f"/jobs/{done.pk}/").content.decode()
    assert "<th>CPU model</th>" in html and "<th>Logical cores</th>" in html and "cpu_model" not in html
