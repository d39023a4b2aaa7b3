"""Threads per rank in Chromium (issue 13): the job and study forms show the field only while hybrid is chosen and
send nothing for it otherwise (js/threads_field.js); without JavaScript it is always there, and a value given
with another backend comes back as an error on the field."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_job_form_shows_threads_per_rank_only_with_hybrid(team_setup, open_page):
    page = open_page("alice")
    page.goto("/jobs/new/?workload=mandelbrot")
    threads = page.locator("input[name=threads]")
    assert page.locator("select[name=backend]").input_value() != "hybrid"
    assert not threads.is_visible()
    page.select_option("select[name=backend]", "hybrid")
    assert threads.is_visible() and threads.is_enabled()
    threads.fill("2")
    page.select_option("select[name=backend]", "mpi")
    # Hidden and disabled: the 2 typed for hybrid is not sent with mpi.
    assert not threads.is_visible() and threads.is_disabled()


def test_the_study_form_shows_threads_per_rank_while_hybrid_is_ticked(team_setup, open_page):
    page = open_page("alice")
    page.goto("/studies/new/?workload=mandelbrot")
    threads = page.locator("input[name=threads]")
    assert not threads.is_visible()
    page.check("input[name=backends][value=hybrid]")
    assert threads.is_visible()
    page.uncheck("input[name=backends][value=hybrid]")
    assert not threads.is_visible()


def test_without_javascript_the_field_is_there_and_refused_for_another_backend(team_setup, open_page):
    page = open_page("alice", javascript=False)
    page.goto("/jobs/new/?workload=mandelbrot")
    assert page.locator("input[name=threads]").is_visible()
    page.select_option("select[name=backend]", "mpi")
    page.select_option("select[name=implementation]", "native")
    page.fill("input[name=workers]", "2")
    page.fill("input[name=threads]", "2")
    page.get_by_role("button", name="Submit").click()
    error = page.locator(".field.has-error", has=page.locator("input[name=threads]"))
    assert "threads per rank is for the hybrid backend; mpi runs 2 workers" in error.inner_text()
    assert page.url.endswith("/jobs/new/")  # the form again, not a job's page
