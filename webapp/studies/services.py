"""Writes about studies: plan one (check every input, list its jobs), create it with its jobs, cancel it.

A study's jobs are ordinary team jobs made by ``jobs_submit_planned`` (in one INSERT), which sends them to
the study queue. Its worker runs one job at a time, so no two timings of a study share the
machine (webapp/queues.py). Jobs are queued repetition by repetition, each repetition in the same
order, so a slow drift of the machine (another tenant, heat) spreads over every configuration
instead of landing on the last one.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction

from kernels.params import Param, ParamError
from kernels.registry import BACKENDS, IMPLEMENTATIONS, UnknownWorkload, get_workload
from kernels.scaling import BASELINE_BACKEND
from webapp.jobs.models import FINAL_STATES, Status
from webapp.jobs.services import (
    JobInputError,
    broker_check,
    job_cancel,
    job_submit,
    jobs_submit_planned,
    team_capacity_check,
    validate_request,
)
from webapp.studies.calibration import CALIBRATING, calibration_cancel, calibration_send, min_baseline_clean
from webapp.studies.models import Study, StudyRun
from webapp.studies.presets import PRESETS, Preset
from webapp.teams.models import Team
from webapp.teams.selectors import team_submitter_check

log = logging.getLogger(__name__)

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
    threads: int | None = None  # threads per rank of the hybrid runs; None: each run's default layout

    @property
    def job_count(self) -> int:
        return len(self.configs) * self.repetitions


def machine_cores() -> int:
    """The cores of this machine (the web server's; the workers usually match it): the one place that reads them."""
    return os.cpu_count() or 1


def default_worker_counts(limit: int | None = None) -> list[int]:
    """1, 2, 4, … doubling, and the core count itself (each at most ``limit``).

    Doubling keeps a sweep short on any machine (9 counts at 256 cores, not 256) and still ends at
    the whole machine, where the speedup that matters is measured.
    """
    top = max(1, min(machine_cores(), limit or settings.PARALAB_MAX_WORKERS))
    counts = [1 << k for k in range(top.bit_length()) if 1 << k < top]
    return counts + [top]


def thin_worker_counts(counts: list[int], fits: Callable[[list[int]], bool]) -> list[int]:
    """The most of ``counts`` that ``fits``, spread evenly over the sweep; the largest count is always kept."""
    for keep in range(len(counts), 1, -1):
        step = (len(counts) - 1) / (keep - 1)
        picked = sorted({counts[round(i * step)] for i in range(keep)})
        if fits(picked):
            return picked
    return counts[-1:]


def _configs(backends: list[str], implementations: list[str], counts: list[int]) -> list[tuple[str, str, int]]:
    # The sequential run of each implementation is the baseline every speedup is measured against.
    configs = [(BASELINE_BACKEND, impl, 1) for impl in implementations]
    return configs + [
        (b, impl, w) for b in backends if b != BASELINE_BACKEND for impl in implementations for w in counts
    ]


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


def _threads(raw: Any, backends: list[str], configs: list[tuple[str, str, int]], limit: int) -> int | None:
    """One threads per rank for every hybrid run, so that its worker axis is ranks × that many threads."""
    if raw in (None, ""):
        return None
    threads = int(_clean(Param("threads", "int", None, 1, limit), raw))
    if "hybrid" not in backends:
        raise JobInputError("threads", "threads per rank is for hybrid runs, and this study has none: add hybrid to "
                                       "its backends, or leave threads empty")  # fmt: skip
    odd = sorted({w for b, _, w in configs if b == "hybrid" and w % threads})
    if odd:
        raise JobInputError(
            "threads",
            f"{threads} threads per rank must divide every worker count of the hybrid runs, and "
            f"{', '.join(map(str, odd))} {'is' if len(odd) == 1 else 'are'} not a multiple of {threads}: "
            f"sweep multiples of {threads} (e.g. {', '.join(str(threads << k) for k in range(3))})",
        )
    return threads


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
    threads: Any = None,
) -> StudyPlan:
    """Check a study's inputs and list its jobs; JobInputError names the field and the reason.

    ``threads`` (threads per rank) applies to its hybrid runs only: the worker axis stays the cores used,
    ranks × threads, so every backend is compared at the same core counts.
    """
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
    reps = _repetitions(repetitions)
    backend_list = [BASELINE_BACKEND] + [b for b in backend_list if b != BASELINE_BACKEND]
    most = min(MAX_STUDY_JOBS, settings.PARALAB_TEAM_MAX_ACTIVE)
    if workers in (None, "", []):
        # The default sweep is thinned until the study fits the team's limit, so a preset is accepted on
        # any machine (1..cores made 102 jobs at 4 cores and 198 at 8, over the limit of 100).
        worker_counts = thin_worker_counts(
            default_worker_counts(limit),
            lambda counts: len(_configs(backend_list, implementation_list, counts)) * reps <= most,
        )
    else:
        worker_counts = _worker_counts(workers, limit)
    configs = _configs(backend_list, implementation_list, worker_counts)
    if len(configs) * reps > most:
        raise JobInputError(
            "repetitions",
            f"this study would run {len(configs) * reps} jobs, more than {most}: "
            "choose fewer backends, implementations, worker counts or repetitions",
        )
    threads_per_rank = _threads(threads, backend_list, configs, limit)
    for backend, implementation, count in configs:
        validate_request(
            workload=workload, params=cleaned, backend=backend, implementation=implementation, workers=count,
            threads=threads_per_rank if backend == "hybrid" else None,
        )  # fmt: skip
    return StudyPlan(
        workload, cleaned, backend_list, implementation_list, worker_counts, reps, configs, threads_per_rank
    )


def _require_submitter(user: User, team: Team) -> None:
    team_submitter_check(user=user, team=team, action="start or cancel studies")


def _default_title(plan: StudyPlan) -> str:
    shown = ", ".join(f"{k}={v}" for k, v in plan.params.items())
    return f"{plan.workload} ({shown}): {' vs '.join(plan.backends)}"[:200]


def study_create(
    *,
    user: User,
    team: Team,
    workload: str,
    params: Any,
    backends: Any,
    implementations: Any = ("python",),
    workers: Any = None,
    repetitions: Any = DEFAULT_REPETITIONS,
    min_baseline: Any = None,
    title: str = "",
    preset: str = "",
    threads: Any = None,
) -> Study:
    """Create a study and queue all its jobs on the study queue (they are sent once this commits).

    With ``min_baseline`` (seconds) the study is made without jobs and a worker calibrates their size first,
    so that each implementation's sequential baseline lasts at least that long (webapp/studies/calibration.py).
    """
    _require_submitter(user, team)
    plan = study_plan(
        workload=workload,
        params=params,
        backends=backends,
        implementations=implementations,
        workers=workers,
        repetitions=repetitions,
        threads=threads,
    )
    target = min_baseline_clean(min_baseline)
    broker_check()  # once for the study, not once per job (a new Redis connection each)
    with transaction.atomic():
        # Checked for the whole batch up front, not job by job half-way through the study, and in the
        # transaction that inserts the jobs, under the team's lock.
        team_capacity_check(team=team, adding=plan.job_count)
        study = Study.objects.create(
            team=team,
            created_by=user,
            title=(title or "").strip()[:200] or _default_title(plan),
            preset=preset,
            min_baseline=target,
            calibration={"state": CALIBRATING} if target is not None else {},
            workload=plan.workload,
            params=plan.params,
            backends=plan.backends,
            implementations=plan.implementations,
            workers=plan.workers,
            repetitions=plan.repetitions,
            threads=plan.threads,
        )
        if target is not None:  # its jobs are made once a worker has calibrated their size
            transaction.on_commit(lambda: calibration_send(study.pk))
            return study
        # study_plan validated each configuration once; the jobs and their runs are one INSERT each.
        jobs = jobs_submit_planned(user=user, team=team, workload=plan.workload, params=plan.params,
                                   configs=plan.configs * plan.repetitions, threads=plan.threads)  # fmt: skip
        repetitions = [r for r in range(1, plan.repetitions + 1) for _ in plan.configs]
        StudyRun.objects.bulk_create(
            StudyRun(study=study, job=job, repetition=r) for job, r in zip(jobs, repetitions, strict=True)
        )
    return study


def _preset(name: str) -> Preset:
    if name not in PRESETS:
        raise JobInputError("preset", f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name]


def preset_plan(*, preset: str, workers: Any = None, repetitions: Any = DEFAULT_REPETITIONS) -> StudyPlan:
    """The jobs a preset would make on this machine, to say so before it is started."""
    spec = _preset(preset)
    return study_plan(
        workload=spec.workload,
        params=spec.params,
        backends=spec.backends,
        implementations=spec.implementations,
        workers=workers,
        repetitions=repetitions,
    )


def preset_sizes() -> list[tuple[Preset, StudyPlan | None, str]]:
    """Each preset with the jobs one click makes on this machine, or why it cannot be made here."""
    sizes: list[tuple[Preset, StudyPlan | None, str]] = []
    for preset in PRESETS.values():
        try:
            sizes.append((preset, preset_plan(preset=preset.name), ""))
        except JobInputError as exc:
            sizes.append((preset, None, f"{exc.field}: {exc.reason}"))
    return sizes


def study_create_from_preset(
    *,
    user: User,
    team: Team,
    preset: str,
    workers: Any = None,
    repetitions: Any = DEFAULT_REPETITIONS,
    min_baseline: Any = None,
    threads: Any = None,
) -> Study:
    spec = _preset(preset)
    if threads is not None and "hybrid" not in spec.backends:
        # Said here, not by study_create: its advice (add hybrid to the backends) is not the caller's to follow.
        raise JobInputError("threads", f"threads per rank is for hybrid runs, and preset {spec.name} sets its own "
                                       "backends, none of them hybrid: leave threads empty")  # fmt: skip
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
        min_baseline=min_baseline,
        threads=threads,
    )


def study_cancel(*, user: User, study: Study) -> int:
    """Cancel every job of the study that has not ended, or its calibration before they are made; returns how
    many jobs were still queued or running."""
    _require_submitter(user, study.team)
    if study.calibration.get("state") == CALIBRATING:
        calibration_cancel(study=study)
    unfinished = [run.job for run in study.runs.select_related("job__team").exclude(job__status__in=FINAL_STATES)]
    for job in unfinished:
        job_cancel(user=user, job=job)
    return len(unfinished)


# A disturbed repetition is run once more, up to this share of the study's planned jobs: enough to replace
# the runs a passing load spoiled, never a loop on a host that stays busy.
RERUN_SHARE = 0.25


def studies_rerun_disturbed() -> int:
    """Queue one more repetition for each finished study run flagged disturbed (kernels/measurement.py),
    once per run and at most RERUN_SHARE of its study's planned jobs. Called by the workers' sweeper."""
    disturbed = (
        StudyRun.objects.filter(job__status=Status.SUCCEEDED, job__measurement__has_key="disturbed", replacement=None)
        .exclude(job__measurement__disturbed="")
        .select_related("study__team", "study__created_by", "job")
        .order_by("id")[:100]
    )
    queued = 0
    for run in disturbed:
        study = run.study
        planned = study.runs.filter(replaces=None).count()
        if study.runs.exclude(replaces=None).count() >= max(1, int(planned * RERUN_SHARE)):
            continue
        try:
            with transaction.atomic():
                team_capacity_check(team=study.team, adding=1)
                job = job_submit(user=study.created_by, team=study.team, workload=run.job.workload,
                                 params=run.job.params, backend=run.job.backend,
                                 implementation=run.job.implementation, workers=run.job.workers,
                                 threads=run.job.threads, study=True)  # fmt: skip
                StudyRun.objects.create(study=study, job=job, repetition=run.repetition, replaces=run)
        except JobInputError as exc:  # the team is full, or its creator may no longer submit: try next sweep
            log.info("study %s: not re-running disturbed job %s now: %s", study.pk, run.job_id, exc)
            continue
        queued += 1
    return queued
