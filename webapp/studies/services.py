"""Writes about studies: plan one (check every input, list its jobs), create it with its jobs, cancel it.

A study's jobs are ordinary team jobs made by ``job_submit(..., study=True)``, which sends them to
the study queue. Its worker runs one job at a time, so no two timings of a study share the
machine (tasks/queues.py). Jobs are queued repetition by repetition, each repetition in the same
order, so a slow drift of the machine (another tenant, heat) spreads over every configuration
instead of landing on the last one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from kernels.params import Param, ParamError
from kernels.registry import BACKENDS, IMPLEMENTATIONS, UnknownWorkload, get_workload
from kernels.scaling import BASELINE_BACKEND
from webapp.jobs.models import FINAL_STATES
from webapp.jobs.services import JobInputError, job_cancel, job_submit, team_capacity_check, validate_request
from webapp.studies.models import Study, StudyRun
from webapp.studies.presets import PRESETS
from webapp.teams.models import Team
from webapp.teams.selectors import team_submitter_check

DEFAULT_REPETITIONS = 3
MAX_REPETITIONS = 10
MAX_STUDY_JOBS = 300  # a study is a benchmark, not a way around the per-job limits


@dataclass(frozen=True)
class StudyPlan:
    """A checked study: cleaned inputs and the (backend, implementation, workers) of each job of one repetition."""

    workload: str
    params: dict[str, Any]
    backends: list[str]
    implementations: list[str]
    workers: list[int]
    repetitions: int
    configs: list[tuple[str, str, int]]

    @property
    def job_count(self) -> int:
        return len(self.configs) * self.repetitions


def default_worker_counts(limit: int | None = None) -> list[int]:
    """1 to the number of cores of this machine (the web server's; the workers usually match it)."""
    cores = os.cpu_count() or 1
    return list(range(1, min(cores, limit or settings.PARALAB_MAX_WORKERS) + 1))


def _string_list(field: str, raw: Any, allowed: tuple[str, ...], supported: tuple[str, ...], what: str) -> list[str]:
    if isinstance(raw, str):
        raw = [part.strip() for part in raw.split(",") if part.strip()]
    if not isinstance(raw, (list, tuple)) or not raw or not all(isinstance(item, str) for item in raw):
        raise JobInputError(field, f"must be a non-empty list of {what} names, from {', '.join(allowed)}")
    for item in raw:
        if item not in allowed:
            raise JobInputError(field, f"unknown {what} {item!r}; choose from {', '.join(allowed)}")
        if item not in supported:
            raise JobInputError(
                field, f"this workload does not run on {what} {item!r}; it supports {', '.join(supported)}"
            )
    return list(dict.fromkeys(raw))  # without repeats, in the order given


def _worker_counts(raw: Any, limit: int) -> list[int]:
    # The engine's own parameter parsing: the same rules (and messages) as every workload's int lists.
    counts = _clean(Param("workers", "int_list", None, 1, limit, max_items=64), raw)
    return sorted(set(counts))


def _repetitions(raw: Any) -> int:
    return _clean(Param("repetitions", "int", DEFAULT_REPETITIONS, 1, MAX_REPETITIONS), raw)


def _clean(param: Param, raw: Any) -> Any:
    try:
        return param.clean(raw)
    except ParamError as exc:
        raise JobInputError(exc.field, exc.reason) from None


def study_plan(
    *,
    workload: str,
    params: Any,
    backends: Any,
    implementations: Any = ("python",),
    workers: Any = None,
    repetitions: Any = DEFAULT_REPETITIONS,
) -> StudyPlan:
    """Check a study's inputs and list its jobs; JobInputError names the field and the reason."""
    try:
        spec = get_workload(workload)
    except UnknownWorkload as exc:
        raise JobInputError("workload", str(exc)) from None
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise JobInputError("params", "must be an object of parameter names to values")
    try:
        cleaned = spec.validate(params)
    except ParamError as exc:
        raise JobInputError(f"params.{exc.field}", exc.reason) from None
    backend_list = _string_list("backends", backends, BACKENDS, spec.backends, "backend")
    implementation_list = _string_list(
        "implementations", implementations, IMPLEMENTATIONS, spec.implementations, "implementation"
    )
    limit = min(settings.PARALAB_MAX_WORKERS, spec.max_workers(cleaned))
    worker_counts = default_worker_counts(limit) if workers in (None, "", []) else _worker_counts(workers, limit)
    reps = _repetitions(repetitions)

    # The sequential run of each implementation is the baseline every speedup is measured against.
    backend_list = [BASELINE_BACKEND] + [b for b in backend_list if b != BASELINE_BACKEND]
    configs = [(BASELINE_BACKEND, impl, 1) for impl in implementation_list]
    configs += [(b, impl, w) for b in backend_list[1:] for impl in implementation_list for w in worker_counts]
    most = min(MAX_STUDY_JOBS, settings.PARALAB_TEAM_MAX_ACTIVE)
    if len(configs) * reps > most:
        raise JobInputError(
            "repetitions",
            f"this study would run {len(configs) * reps} jobs, more than {most}: "
            "choose fewer backends, implementations, worker counts or repetitions",
        )
    for backend, implementation, count in configs:
        validate_request(
            workload=workload, params=cleaned, backend=backend, implementation=implementation, workers=count
        )
    return StudyPlan(workload, cleaned, backend_list, implementation_list, worker_counts, reps, configs)


def _require_submitter(user: AbstractBaseUser, team: Team) -> None:
    team_submitter_check(user=user, team=team, action="start or cancel studies")


def _default_title(plan: StudyPlan) -> str:
    shown = ", ".join(f"{k}={v}" for k, v in plan.params.items())
    return f"{plan.workload} ({shown}): {' vs '.join(plan.backends)}"[:200]


def study_create(
    *,
    user: AbstractBaseUser,
    team: Team,
    workload: str,
    params: Any,
    backends: Any,
    implementations: Any = ("python",),
    workers: Any = None,
    repetitions: Any = DEFAULT_REPETITIONS,
    title: str = "",
    preset: str = "",
) -> Study:
    """Create a study and queue all its jobs on the study queue (they are sent once this commits)."""
    _require_submitter(user, team)
    plan = study_plan(
        workload=workload,
        params=params,
        backends=backends,
        implementations=implementations,
        workers=workers,
        repetitions=repetitions,
    )
    # Checked for the whole batch up front, not job by job half-way through the study.
    team_capacity_check(team=team, adding=plan.job_count)
    with transaction.atomic():
        study = Study.objects.create(
            team=team,
            created_by=user,
            title=(title or "").strip()[:200] or _default_title(plan),
            preset=preset,
            workload=plan.workload,
            params=plan.params,
            backends=plan.backends,
            implementations=plan.implementations,
            workers=plan.workers,
            repetitions=plan.repetitions,
        )
        runs = []
        for repetition in range(1, plan.repetitions + 1):
            for backend, implementation, count in plan.configs:
                job = job_submit(
                    user=user,
                    team=team,
                    workload=plan.workload,
                    params=plan.params,
                    backend=backend,
                    implementation=implementation,
                    workers=count,
                    study=True,
                )
                runs.append(StudyRun(study=study, job=job, repetition=repetition))
        StudyRun.objects.bulk_create(runs)
    return study


def study_create_from_preset(
    *, user: AbstractBaseUser, team: Team, preset: str, workers: Any = None, repetitions: Any = DEFAULT_REPETITIONS
) -> Study:
    if preset not in PRESETS:
        raise JobInputError("preset", f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    spec = PRESETS[preset]
    return study_create(
        user=user,
        team=team,
        workload=spec.workload,
        params=spec.params,
        backends=spec.backends,
        implementations=spec.implementations,
        workers=workers,
        repetitions=repetitions,
        title=spec.title,
        preset=spec.name,
    )


def study_cancel(*, user: AbstractBaseUser, study: Study) -> int:
    """Cancel every job of the study that has not ended; returns how many were still queued or running."""
    _require_submitter(user, study.team)
    unfinished = [run.job for run in study.runs.select_related("job__team").exclude(job__status__in=FINAL_STATES)]
    for job in unfinished:
        job_cancel(user=user, job=job)
    return len(unfinished)
