"""Reads about studies, scoped to the teams of the user asking: lists, one study's runs, its scaling analysis."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, Q, QuerySet
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.http import Http404

from kernels.scaling import Sample, Series, analyse
from webapp.jobs.models import Status
from webapp.studies.models import Study, StudyRun

STATES = ("queued", "running", "succeeded", "failed", "cancelled")


def studies_visible_to(user: User | AnonymousUser) -> QuerySet[Study]:
    if not user.is_authenticated:
        return Study.objects.none()
    return Study.objects.filter(team__memberships__user=user).select_related("team", "created_by")


def study_get_for_user(*, user: User | AnonymousUser, study_id: int) -> Study:
    """The study if the user may see it; another team's study is a 404, never a 403."""
    study = studies_visible_to(user).filter(pk=study_id).first()
    if study is None:
        raise Http404("No such study.")
    return study


def studies_get_for_user(*, user: User | AnonymousUser, study_ids: list[int]) -> list[Study]:
    """The studies in the order asked, in one query, if the user may see every one; any other is a 404."""
    found = {study.pk: study for study in studies_visible_to(user).filter(pk__in=study_ids)}
    missing = [study_id for study_id in study_ids if study_id not in found]
    if missing:
        raise Http404(f"No such study: #{missing[0]}.")
    return [found[study_id] for study_id in study_ids]


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
    calibration: str = ""  # the study's calibration state (webapp/studies/calibration.py), "" without one

    @property
    def finished(self) -> int:
        return self.succeeded + self.failed + self.cancelled

    @property
    def is_final(self) -> bool:
        return self.finished == self.total and self.calibration != "calibrating"

    @property
    def status(self) -> str:
        """queued (nothing started), running, then succeeded, or failed / cancelled if any job was; before its
        jobs are made, the calibration's: calibrating, or failed / cancelled."""
        if not self.total and self.calibration in ("calibrating", Status.FAILED, Status.CANCELLED):
            return self.calibration
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
        return _progress(study.count_total, lambda state: getattr(study, f"count_{state}"), study)
    counts = dict(study.runs.values_list("job__status").annotate(n=Count("id")))
    return _progress(sum(counts.values()), lambda state: counts.get(state, 0), study)


def progress_of_runs(runs: list[StudyRun], study: Study | None = None) -> Progress:
    """The progress of these runs as loaded: one snapshot with the timings read alongside (a second query
    could already count a job as finished whose time the first did not see); with ``study``, its calibration's."""
    counts = {state: 0 for state in STATES}
    for run in runs:
        counts[run.job.status] = counts.get(run.job.status, 0) + 1
    return _progress(len(runs), counts.__getitem__, study)


def _progress(total: int, count: Callable[[str], int], study: Study | None) -> Progress:
    calibration = (study.calibration or {}).get("state", "") if study is not None else ""
    queued, running, succeeded, failed, cancelled = (count(state) for state in STATES)
    return Progress(total, queued, running, succeeded, failed, cancelled, calibration)


def study_runs(study: Study) -> list[StudyRun]:
    """The study's runs with the job fields a table needs; no results, logs or per-unit spans."""
    return studies_runs([study])[study.pk]


def studies_runs(studies: list[Study]) -> dict[int, list[StudyRun]]:
    """``study_runs`` of several studies in one query, by study id."""
    by_id = {study.pk: study for study in studies}
    by_study: dict[int, list[StudyRun]] = {study.pk: [] for study in studies}
    for run in (
        StudyRun.objects.filter(study__in=studies)
        .select_related("job")
        .defer("job__result", "job__log", "job__progress", "job__provenance", "job__error")
        # KT("job__progress__done") would read the key from job_id; the transform over the joined field does not.
        .annotate(
            progress_done=KeyTextTransform("done", "job__progress"),
            progress_total=KeyTextTransform("total", "job__progress"),
            # The layout a hybrid run ran with, for the study's CSV: two keys, not the whole provenance per row.
            layout_ranks=KeyTextTransform("ranks", KeyTransform("layout", "job__provenance")),
            layout_threads=KeyTextTransform("threads", KeyTransform("layout", "job__provenance")),
        )
        .order_by("id")
    ):
        run.study = by_id[run.study_id]  # as ``study.runs`` would have it: no query to reach it
        by_study[run.study_id].append(run)
    return by_study


def run_layout(run: StudyRun) -> dict[str, int] | None:
    """A hybrid run's ranks × threads per rank as chosen on the host that ran it (annotated by studies_runs)."""
    ranks, threads = run.layout_ranks, run.layout_threads  # type: ignore[attr-defined]
    return {"ranks": int(ranks), "threads": int(threads)} if ranks and threads else None


def run_counts_towards_timing(run: StudyRun) -> bool:
    # A result that failed verification is not a trustworthy timing of the workload: it is shown, marked, not averaged.
    return run.job.status == Status.SUCCEEDED and run.job.wall_time is not None and run.job.verified is not False


def study_analysis(study: Study, runs: list[StudyRun]) -> list[Series]:
    samples = [
        Sample(
            run.job.backend,
            run.job.implementation,
            run.job.workers,
            cast(float, run.job.wall_time),  # run_counts_towards_timing: it has one
            disturbed=bool((run.job.measurement or {}).get("disturbed")),
            too_short=bool((run.job.measurement or {}).get("too_short")),
            imbalance=(run.job.balance or {}).get("imbalance"),
        )
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
    return studies_provenance([study])[study.pk]


def studies_provenance(studies: list[Study]) -> dict[int, list[tuple[str, list[str]]]]:
    """``study_provenance`` of several studies in one query, by study id."""
    records: dict[int, list[Any]] = {study.pk: [] for study in studies}
    rows = StudyRun.objects.filter(study__in=studies).order_by("id").values_list("study_id", "job__provenance")
    for study_id, record in rows:
        records[study_id].append(record)
    return {study_id: provenance_values(found) for study_id, found in records.items()}


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
