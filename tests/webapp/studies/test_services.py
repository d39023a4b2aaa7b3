"""Creating and cancelling studies through the service: the plan, the jobs on the study queue, every refusal."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from webapp.jobs.models import Job, Status
from webapp.jobs.services import JobInputError, TooManyActiveJobs
from webapp.studies.models import Study, StudyRun
from webapp.studies.selectors import study_progress
from webapp.studies.services import MAX_REPETITIONS, study_cancel, study_create_from_preset, study_plan

pytestmark = pytest.mark.django_db


def test_a_study_queues_every_configuration_per_repetition_with_the_sequential_baseline(team_setup, make_study):
    study = make_study(user=team_setup["bob"], team=team_setup["team_a"], repetitions=2)
    assert study.backends == ["sequential", "processes"]
    assert study.workers == [1, 2]
    assert study.title == "fib (ns=[22, 21]): sequential vs processes"
    runs = list(study.runs.select_related("job").order_by("id"))
    one_repetition = [("sequential", "python", 1), ("processes", "python", 1), ("processes", "python", 2)]
    assert [(r.repetition, r.job.backend, r.job.implementation, r.job.workers) for r in runs] == [
        (rep, *config) for rep in (1, 2) for config in one_repetition
    ]
    for run in runs:
        assert run.job.team == team_setup["team_a"] and run.job.submitted_by == team_setup["bob"]
        assert run.job.params == {"ns": [22, 21]}
        assert run.job.capability == "study"  # the queue whose worker runs one job at a time
        assert run.job.status == Status.QUEUED
    assert study_progress(study).status == "queued"


def test_the_seed_preset_sweeps_every_backend_and_both_implementations(team_setup):
    study = study_create_from_preset(user=team_setup["alice"], team=team_setup["team_a"], preset="seed-fib",
                                     workers=[1, 2], repetitions=1)  # fmt: skip
    assert study.preset == "seed-fib"
    assert study.title.startswith("fib [38..33]: sequential vs threads vs processes vs subprocesses vs native vs MPI")
    assert study.params == {"ns": [38, 37, 36, 35, 34, 33]}
    configs = {(j.backend, j.implementation, j.workers) for j in Job.objects.filter(study_run__study=study)}
    assert ("sequential", "python", 1) in configs and ("sequential", "native", 1) in configs
    assert ("threads", "native", 2) in configs and ("mpi", "python", 2) in configs
    assert len(configs) == 2 + 4 * 2 * 2


def test_default_workers_are_one_to_the_number_of_cores(team_setup, make_study, settings):
    import os

    settings.PARALAB_MAX_WORKERS = 64
    plan = study_plan(workload="fib", params={}, backends=["threads"])
    assert plan.workers == list(range(1, (os.cpu_count() or 1) + 1))
    assert plan.repetitions == 3


@pytest.mark.parametrize(
    "overrides, field, reason",
    [
        ({"workload": "nope"}, "workload", "unknown workload 'nope'"),
        ({"params": {"ns": [99]}}, "params.ns", "must be 1 to 64 integers, each between 1 and 40, got 99"),
        ({"params": {"n": 3}}, "params.n", "unknown parameter"),
        ({"params": [1]}, "params", "must be an object"),
        ({"backends": []}, "backends", "must be a non-empty list of backend names"),
        ({"backends": ["gpu"]}, "backends", "unknown backend 'gpu'; choose from sequential, threads"),
        ({"workload": "heat", "params": {}, "backends": ["threads"]}, "backends",
         "this workload does not run on backend 'threads'; it supports sequential, mpi"),
        ({"implementations": ["rust"]}, "implementations", "unknown implementation 'rust'"),
        ({"workers": [0, 2]}, "workers", "must be 1 to 64 integers, each between 1 and 8, got 0"),
        ({"workers": ["two"]}, "workers", "must be an integer, got 'two'"),
        ({"workers": 3}, "workers", "must be a list of integers (1 to 64 integers, each between 1 and 8)"),
        ({"repetitions": 0}, "repetitions", f"must be between 1 and {MAX_REPETITIONS}, got 0"),
        ({"repetitions": "x"}, "repetitions", "must be an integer, got 'x'"),
        ({"backends": ["threads", "processes", "subprocesses", "mpi"], "implementations": ["python", "native"],
          "workers": [1, 2, 3, 4, 5, 6, 7, 8], "repetitions": 10}, "repetitions", "this study would run 660 jobs"),
    ],
)  # fmt: skip
def test_bad_input_names_the_field_and_the_reason_and_creates_nothing(team_setup, make_study, overrides, field, reason):
    with pytest.raises(JobInputError) as caught:
        make_study(user=team_setup["bob"], team=team_setup["team_a"], **overrides)
    assert caught.value.field == field
    assert reason in caught.value.reason
    assert not Study.objects.exists() and not Job.objects.exists()


def test_a_viewer_cannot_start_or_cancel_a_study(team_setup, make_study):
    with pytest.raises(PermissionDenied):
        make_study(user=team_setup["vera"], team=team_setup["team_a"])
    with pytest.raises(PermissionDenied):
        make_study(user=team_setup["mallory"], team=team_setup["team_a"])
    assert not Study.objects.exists()
    study = make_study(user=team_setup["bob"], team=team_setup["team_a"])
    with pytest.raises(PermissionDenied):
        study_cancel(user=team_setup["vera"], study=study)


def test_a_study_that_would_cross_the_teams_active_job_limit_is_refused_whole(team_setup, make_study, settings):
    settings.PARALAB_TEAM_MAX_ACTIVE = 5
    make_study(user=team_setup["bob"], team=team_setup["team_a"])  # 3 jobs
    with pytest.raises(
        TooManyActiveJobs, match="Team A already has 3 queued or running jobs and its limit is 5; 3 more would pass it"
    ):
        make_study(user=team_setup["bob"], team=team_setup["team_a"])
    assert Study.objects.count() == 1 and Job.objects.count() == 3


def test_cancel_ends_the_jobs_not_yet_ended_and_keeps_the_finished(team_setup, make_study):
    study = make_study(user=team_setup["bob"], team=team_setup["team_a"])
    first = study.runs.order_by("id").first().job
    from webapp.jobs.services import job_transition

    assert job_transition(job_id=first.pk, to=Status.RUNNING)
    assert job_transition(job_id=first.pk, to=Status.SUCCEEDED, wall_time=1.0, verified=True)
    assert study_cancel(user=team_setup["alice"], study=study) == 2
    statuses = list(Job.objects.filter(study_run__study=study).order_by("id").values_list("status", flat=True))
    assert statuses == [Status.SUCCEEDED, Status.CANCELLED, Status.CANCELLED]
    assert study_progress(study).status == "cancelled"
    assert study_cancel(user=team_setup["alice"], study=study) == 0
    assert StudyRun.objects.filter(study=study).count() == 3
