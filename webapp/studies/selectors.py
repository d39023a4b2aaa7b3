"""Reads about studies, scoped to the teams of the user asking: lists, one study's runs, its scaling analysis."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Q, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.http import Http404

from kernels.scaling import Sample, Series, analyse
from webapp.jobs.models import Status
from webapp.studies.models import Study, StudyRun

STATES = ("queued", "running", "succeeded", "failed", "cancelled")


def studies_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Study]:
    if not user.is_authenticated:
        return Study.objects.none()
    return Study.objects.filter(team__memberships__user=user).select_related("team", "created_by")


def study_get_for_user(*, user: AbstractBaseUser | AnonymousUser, study_id: int) -> Study:
    """The study if the user may see it; another team's study is a 404, never a 403."""
    study = studies_visible_to(user).filter(pk=study_id).first()
    if study is None:
        raise Http404("No such study.")
    return study


def study_rows(studies: QuerySet[Study]) -> QuerySet[Study]:
    """Studies with the number of their jobs in each state (``count_queued`` …), for lists and status."""
    counts = {f"count_{state}": Count("runs", filter=Q(runs__job__status=state)) for state in STATES}
    return studies.annotate(count_total=Count("runs"), **counts)


@dataclass(frozen=True)
class Progress:
    """How far a study is: its jobs by state, and the state of the whole."""

    total: int
    queued: int
    running: int
    succeeded: int
    failed: int
    cancelled: int

    @property
    def finished(self) -> int:
        return self.succeeded + self.failed + self.cancelled

    @property
    def is_final(self) -> bool:
        return self.finished == self.total

    @property
    def status(self) -> str:
        """queued (nothing started), running, then succeeded, or failed / cancelled if any job was."""
        if not self.is_final:
            return Status.QUEUED if self.queued == self.total else Status.RUNNING
        if self.failed:
            return Status.FAILED
        if self.cancelled:
            return Status.CANCELLED
        return Status.SUCCEEDED

    def as_dict(self) -> dict[str, int]:
        return {"total": self.total, "finished": self.finished, **{state: getattr(self, state) for state in STATES}}


def study_progress(study: Study) -> Progress:
    """From ``study_rows`` annotations when present, else counted."""
    if hasattr(study, "count_total"):
        return Progress(study.count_total, *(getattr(study, f"count_{state}") for state in STATES))
    counts = dict(study.runs.values_list("job__status").annotate(n=Count("id")))
    return Progress(sum(counts.values()), *(counts.get(state, 0) for state in STATES))


def progress_of_runs(runs: list[StudyRun]) -> Progress:
    """The progress of these runs as loaded: one snapshot with the timings read alongside (a second query
    could already count a job as finished whose time the first did not see)."""
    counts = {state: 0 for state in STATES}
    for run in runs:
        counts[run.job.status] = counts.get(run.job.status, 0) + 1
    return Progress(len(runs), *(counts[state] for state in STATES))


def study_runs(study: Study) -> list[StudyRun]:
    """The study's runs with the job fields a table needs; no results, logs or per-unit spans."""
    return list(
        study.runs.select_related("job")
        .defer("job__result", "job__log", "job__progress", "job__provenance", "job__error")
        # KT("job__progress__done") would read the key from job_id; the transform over the joined field does not.
        .annotate(
            progress_done=KeyTextTransform("done", "job__progress"),
            progress_total=KeyTextTransform("total", "job__progress"),
        )
        .order_by("id")
    )


def run_counts_towards_timing(run: StudyRun) -> bool:
    # A result that failed verification is not a trustworthy timing of the workload: it is shown, marked, not averaged.
    return run.job.status == Status.SUCCEEDED and run.job.wall_time is not None and run.job.verified is not False


def study_analysis(study: Study, runs: list[StudyRun]) -> list[Series]:
    samples = [
        Sample(run.job.backend, run.job.implementation, run.job.workers, run.job.wall_time)
        for run in runs
        if run_counts_towards_timing(run)
    ]
    order = [(b, i) for b in study.backends for i in study.implementations]
    return analyse(samples, order=order)


def series_with_marks(series: list[Series], runs: list[StudyRun]) -> list[dict[str, Any]]:
    """The analysis as dicts, each point with how many of its runs failed verification (left out of the numbers)."""
    unverified: dict[tuple[str, str, int], int] = {}
    for run in runs:
        if run.job.status == Status.SUCCEEDED and run.job.verified is False:
            key = (run.job.backend, run.job.implementation, run.job.workers)
            unverified[key] = unverified.get(key, 0) + 1
    upto = max((p.workers for s in series for p in s.points), default=1)
    result = []
    for s in series:
        data = s.as_dict(upto=upto)
        for point in data["points"]:
            point["not_verified"] = unverified.get((s.backend, s.implementation, point["workers"]), 0)
        result.append(data)
    return result


def study_provenance(study: Study) -> list[tuple[str, list[str]]]:
    """Each provenance field of the study's jobs with its distinct values (one value: every job agrees)."""
    return provenance_values(study.runs.values_list("job__provenance", flat=True))


def flatten(record: dict[str, Any] | None, prefix: str = "") -> dict[str, str]:
    """``{"packages": {"numpy": "2.4"}}`` → ``{"packages.numpy": "2.4"}``; lists joined; for tables and diffs."""
    flat: dict[str, str] = {}
    for key, value in (record or {}).items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        elif isinstance(value, (list, tuple)):
            flat[name] = ", ".join(str(item) for item in value)
        else:
            flat[name] = "—" if value is None or value == "" else str(value)
    return flat


def provenance_values(records: Any) -> list[tuple[str, list[str]]]:
    """Distinct values per flattened field; the load average, different for every job, as its 1-minute range."""
    values: dict[str, list[str]] = {}
    loads: list[float] = []
    for record in records:
        record = dict(record or {})
        load = record.pop("load_average", None)
        if isinstance(load, (list, tuple)) and load:
            loads.append(float(load[0]))
        for key, value in flatten(record).items():
            seen = values.setdefault(key, [])
            if value not in seen:
                seen.append(value)
    if loads:
        values["load_average (1 min, at start)"] = [f"{min(loads):.2f} – {max(loads):.2f}"]
    return sorted(values.items())
