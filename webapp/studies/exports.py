"""CSV and JSON downloads: a list of jobs (the history filters), and a study's jobs or summary table.

Rows are built here from scoped querysets and the study analysis; the API views only pick the format.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone

from webapp.jobs.models import Job
from webapp.studies.models import StudyRun
from webapp.studies.selectors import flatten, run_counts_towards_timing

JOB_COLUMNS = [
    "id", "team", "submitted_by", "workload", "params", "backend", "implementation", "workers", "status",
    "verified", "verification", "wall_time", "worker_host", "queued_at", "started_at", "finished_at", "error",
]  # fmt: skip
# The provenance fields a spreadsheet of timings most needs; the JSON export carries the whole record.
PROVENANCE_COLUMNS = ["host", "cpu_model", "logical_cores", "physical_cores", "python", "paralab_version", "git_commit"]

STUDY_JOB_COLUMNS = [
    "study", "repetition", "job", "backend", "implementation", "workers", "status", "verified", "wall_time",
    "counted", "speedup", "worker_host", "started_at", "finished_at",
]  # fmt: skip
STUDY_SUMMARY_COLUMNS = [
    "study", "backend", "implementation", "workers", "runs", "median_s", "min_s", "max_s", "speedup", "speedup_min",
    "speedup_max", "efficiency", "karp_flatt", "not_verified", "baseline", "baseline_s", "amdahl_serial_fraction",
    "amdahl_t1_s",
]  # fmt: skip


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def job_record(job: Job) -> dict[str, Any]:
    """One job as the JSON export shows it (provenance included)."""
    return {
        "id": job.pk,
        "team": job.team.slug,
        "submitted_by": job.submitted_by.get_username(),
        "workload": job.workload,
        "params": job.params,
        "backend": job.backend,
        "implementation": job.implementation,
        "workers": job.workers,
        "status": job.status,
        "verified": job.verified,
        "verification": job.verification,
        "wall_time": job.wall_time,
        "worker_host": job.worker_host,
        "queued_at": _iso(job.queued_at),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
        "error": job.error,
        "provenance": job.provenance,
    }


def job_csv_row(job: Job) -> list[Any]:
    record = job_record(job)
    record["params"] = json.dumps(job.params, separators=(",", ":"))
    provenance = flatten(job.provenance)
    return [_cell(record[c]) for c in JOB_COLUMNS] + [provenance.get(c, "") for c in PROVENANCE_COLUMNS]


def job_csv_header() -> list[str]:
    return JOB_COLUMNS + [f"provenance.{c}" for c in PROVENANCE_COLUMNS]


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


class _Echo:
    """A file-like object whose write returns the line, so csv.writer can feed a streaming response."""

    def write(self, value: str) -> str:
        return value


def csv_response(filename: str, header: list[str], rows: Iterable[list[Any]]) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def json_response(filename: str, data: Any) -> HttpResponse:
    response = HttpResponse(json.dumps(data, indent=2, default=str), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def export_name(stem: str, extension: str) -> str:
    return f"{stem}-{timezone.now():%Y%m%d-%H%M%S}.{extension}"


def study_job_rows(study_id: int, runs: list[StudyRun], series: list[dict[str, Any]]) -> list[list[Any]]:
    """One row per job of the study, with its speedup against the study's baseline of its implementation."""
    baselines = {(s["backend"], s["implementation"]): s["baseline"] for s in series}
    rows = []
    for run in runs:
        job = run.job
        counted = run_counts_towards_timing(run)
        baseline = baselines.get((job.backend, job.implementation))
        speedup = baseline / job.wall_time if counted and baseline and job.wall_time else None
        rows.append(
            [
                study_id, run.repetition, job.pk, job.backend, job.implementation, job.workers, job.status,
                _cell(job.verified), _cell(job.wall_time), _cell(counted), _cell(speedup), job.worker_host,
                _cell(_iso(job.started_at)), _cell(_iso(job.finished_at)),
            ]
        )  # fmt: skip
    return rows


def study_summary_rows(study_id: int, series: list[dict[str, Any]]) -> list[list[Any]]:
    """One row per backend × implementation × workers: the numbers of the study page's table."""
    rows = []
    for s in series:
        fit = s["amdahl"] or {}
        for p in s["points"]:
            rows.append(
                [
                    study_id, s["backend"], s["implementation"], p["workers"], p["runs"], p["median"], p["min"],
                    p["max"], _cell(p["speedup"]), _cell(p["speedup_min"]), _cell(p["speedup_max"]),
                    _cell(p["efficiency"]), _cell(p["karp_flatt"]), p["not_verified"], s["baseline_label"],
                    _cell(s["baseline"]), _cell(fit.get("serial_fraction")), _cell(fit.get("t1")),
                ]
            )  # fmt: skip
    return rows
