"""Creating and cancelling studies through the service: the plan, the jobs on the study queue, every refusal."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from webapp.jobs.models import Job, Status
from webapp.jobs.services import JobInputError, TooManyActiveJobs
from webapp.studies import services
from webapp.studies.models import Study, StudyRun
from webapp.studies.selectors import study_progress
from webapp.studies.services import (
    MAX_REPETITIONS,
    default_worker_counts,
    preset_plan,
    study_cancel,
    study_create_from_preset,
    study_plan,
)

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


CORE_COUNTS = [1, 2, 3, 4, 8, 16, 64, 128, 256]


@pytest.mark.parametrize("cores", CORE_COUNTS)
def test_default_workers_double_up_to_the_core_count(cores, settings, monkeypatch):
    settings.PARALAB_MAX_WORKERS = 256
    monkeypatch.setattr(services, "machine_cores", lambda: cores)
    counts = default_worker_counts()
    assert counts[0] == 1 and counts[-1] == cores
    assert all(b == 2 * a for a, b in zip(counts, counts[1:-1], strict=False))  # 1, 2, 4, … then the core count
    assert len(counts) <= 9
    plan = study_plan(workload="fib", params={}, backends=["threads"])
    assert plan.workers == counts and plan.repetitions == 3


@pytest.mark.parametrize("max_workers", [8, 256])
@pytest.mark.parametrize("cores", CORE_COUNTS)
def test_the_seed_preset_fits_the_team_limit_on_any_machine(settings, monkeypatch, cores, max_workers):
    # 1..cores made 102 jobs at 4 cores and 198 at 8: over the team limit of 100, so the preset was refused.
    # (The page, API and CLI tests start it for real.)
    settings.PARALAB_MAX_WORKERS = max_workers
    monkeypatch.setattr(services, "machine_cores", lambda: cores)
    plan = preset_plan(preset="seed-fib")
    assert 0 < plan.job_count <= settings.PARALAB_TEAM_MAX_ACTIVE == 100
    assert plan.workers[0] == 1 and plan.workers[-1] == min(cores, max_workers)  # still ends at the whole machine
    assert set(plan.workers) <= set(default_worker_counts())
    assert plan.job_count == 3 * 2 * (1 + 4 * len(plan.workers))


def test_the_default_sweep_is_thinned_evenly_to_fit(team_setup, settings, monkeypatch):
    settings.PARALAB_MAX_WORKERS = 256
    monkeypatch.setattr(services, "machine_cores", lambda: 128)
    plan = preset_plan(preset="seed-fib")
    assert default_worker_counts() == [1, 2, 4, 8, 16, 32, 64, 128]
    assert plan.workers == [1, 16, 128] and plan.job_count == 78  # 3 counts × 8 series + 2 baselines, × 3
    settings.PARALAB_TEAM_MAX_ACTIVE = 40
    assert preset_plan(preset="seed-fib").workers == [128]  # 3 × (2 + 8) = 30
    settings.PARALAB_TEAM_MAX_ACTIVE = 20
    with pytest.raises(JobInputError, match="this study would run 30 jobs, more than 20"):
        preset_plan(preset="seed-fib")
    # Worker counts that were asked for are never thinned: too many is an error naming the field.
    with pytest.raises(JobInputError, match="this study would run 54 jobs, more than 20"):
        preset_plan(preset="seed-fib", workers=[1, 2])


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
         "this workload does not run on backend 'threads'; it supports sequential, mpi, openmp, hybrid"),
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


def test_a_study_compares_openmp_and_hybrid_with_mpi_at_equal_core_counts():
    plan = study_plan(workload="mandelbrot", params={"width": 64, "height": 48}, backends=["mpi", "openmp", "hybrid"],
                      implementations=["native"], workers=[1, 2])  # fmt: skip
    assert plan.configs == [("sequential", "native", 1)] + [
        (backend, "native", workers) for backend in ("mpi", "openmp", "hybrid") for workers in (1, 2)
    ]
    with pytest.raises(JobInputError) as refused:
        study_plan(workload="mandelbrot", params={}, backends=["openmp"], implementations=["python"], workers=[2])
    assert (refused.value.field, refused.value.reason) == (
        "implementation",
        "the openmp backend runs compiled OpenMP kernels: choose implementation native",
    )


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


def test_a_disturbed_repetition_is_queued_again_once_and_within_the_bound(team_setup, make_study, finish_study):
    from webapp.studies.services import studies_rerun_disturbed

    study = make_study(user=team_setup["alice"], team=team_setup["team_a"], repetitions=3)  # 9 planned jobs
    finish_study(study, {("sequential", "python", 1): [2.0] * 3, ("processes", "python", 1): [2.1] * 3,
                         ("processes", "python", 2): [1.1, 1.2, 3.9]})  # fmt: skip
    assert studies_rerun_disturbed() == 0  # nothing flagged: nothing to do
    runs = list(study.runs.select_related("job").order_by("id"))
    for run in runs[:4]:
        Job.objects.filter(pk=run.job_id).update(measurement={"disturbed": "its units got 40% of the CPU"})

    # 9 planned jobs allow max(1, int(9 × 0.25)) = 2 re-runs: the first two disturbed runs, in order.
    assert studies_rerun_disturbed() == 2
    again = list(StudyRun.objects.filter(study=study).exclude(replaces=None).select_related("job").order_by("id"))
    assert [r.replaces_id for r in again] == [runs[0].pk, runs[1].pk]
    for new, old in zip(again, runs, strict=False):
        assert (new.job.status, new.job.backend, new.job.workers, new.repetition) == (
            Status.QUEUED, old.job.backend, old.job.workers, old.repetition)  # fmt: skip
    assert studies_rerun_disturbed() == 0  # the bound holds on the next sweep


def test_a_calibrated_studys_jobs_take_their_implementations_own_size_in_the_one_insert(team_setup):
    # A calibrated study sizes each implementation's baseline apart (native runs ~100x faster than python).
    from webapp.jobs.services import jobs_submit_planned

    configs = [("sequential", "python", 1), ("sequential", "native", 1), ("processes", "native", 2)]
    jobs = jobs_submit_planned(user=team_setup["alice"], team=team_setup["team_a"], workload="fib",
                               params={"ns": [30, 29]}, configs=configs,
                               params_for={"native": {"ns": [38, 37]}})  # fmt: skip
    stored = Job.objects.filter(pk__in=[job.pk for job in jobs]).order_by("pk")
    assert [(job.implementation, job.params) for job in stored] == [
        ("python", {"ns": [30, 29]}),
        ("native", {"ns": [38, 37]}),
        ("native", {"ns": [38, 37]}),
    ]
