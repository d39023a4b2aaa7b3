"""CSV and JSON downloads: a list of jobs (the history filters), and a study's jobs or summary table.

Rows are built here from scoped querysets and the study analysis; the API views only pick the format.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone

from webapp.jobs.document import EXPORT_COLUMNS, EXPORT_FIELDS, STUDY_EXPORT_FIELDS, job_document
from webapp.jobs.models import Job
from webapp.studies.models import StudyRun
from webapp.studies.selectors import flatten, run_counts_towards_timing

JOB_COLUMNS = list(EXPORT_COLUMNS)
# The provenance fields a spreadsheet of timings most needs; the JSON export carries the whole record.
# layout.*: a hybrid run's ranks × threads per rank as chosen on the host that ran it, beside the threads asked.
PROVENANCE_COLUMNS = [
    "host", "cpu_model", "logical_cores", "physical_cores", "python", "paralab_version", "git_commit",
    "layout.ranks", "layout.threads",
]  # fmt: skip

STUDY_JOB_COLUMNS = [
    "study", "repetition", "job", "backend", "implementation", "workers", "threads", "provenance.layout.ranks",
    "provenance.layout.threads", "status", "verified", "wall_time", "counted", "speedup", "worker_host", "started_at",
    "finished_at",
]  # fmt: skip
STUDY_SUMMARY_COLUMNS = [
    "study", "backend", "implementation", "workers", "runs", "median_s", "ci95_low_s", "ci95_high_s", "min_s", "max_s",
    "speedup", "speedup_ci95_low", "speedup_ci95_high", "speedup_clear", "efficiency", "karp_flatt", "not_verified",
    "disturbed_left_out", "too_short", "imbalance", "baseline", "baseline_s", "amdahl_serial_fraction", "amdahl_t1_s",
    "amdahl_speedup_limit",
]  # fmt: skip


def job_record(job: Job) -> dict[str, Any]:
    """One job as the JSON export shows it (provenance included)."""
    return job_document(job, EXPORT_FIELDS)


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


# What makes Excel, LibreOffice or Google Sheets read a cell as a formula (OWASP, "CSV Injection"):
# a username, a host name, a job's error text … starting like this could run =HYPERLINK(…) or worse.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A cell that is only a number cannot be a formula; "-1.5" stays a number in the spreadsheet.
PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def spreadsheet_text(value: Any) -> Any:
    """A text cell a spreadsheet would take for a formula, as text (a leading ``'``); anything else as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


class _Echo:
    """A file-like object whose write returns the line, so csv.writer can feed a streaming response."""

    def write(self, value: str) -> str:
        return value


def csv_response(filename: str, header: list[str], rows: Iterable[list[Any]]) -> StreamingHttpResponse:
    """Every CSV download goes through here, so every cell is made spreadsheet-safe in one place."""
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow([spreadsheet_text(cell) for cell in row])

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
        job = job_document(run.job, STUDY_EXPORT_FIELDS)
        counted = run_counts_towards_timing(run)
        baseline = baselines.get((job["backend"], job["implementation"]))
        speedup = baseline / job["wall_time"] if counted and baseline and job["wall_time"] else None
        rows.append(
            [
                study_id, run.repetition, job["id"], job["backend"], job["implementation"], job["workers"],
                # Annotated by studies_runs (the provenance itself is not loaded); the stubs cannot see them.
                _cell(job["threads"]), _cell(run.layout_ranks), _cell(run.layout_threads),  # type: ignore[attr-defined]
                job["status"], _cell(job["verified"]), _cell(job["wall_time"]), _cell(counted), _cell(speedup),
                job["worker_host"], _cell(job["started_at"]), _cell(job["finished_at"]),
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
                    study_id, s["backend"], s["implementation"], p["workers"], p["runs"], p["median"], p["low"],
                    p["high"], p["min"], p["max"], _cell(p["speedup"]), _cell(p["speedup_low"]),
                    _cell(p["speedup_high"]), p["speedup_clear"], _cell(p["efficiency"]), _cell(p["karp_flatt"]),
                    p["not_verified"], p["disturbed"], p["too_short"], _cell(p["imbalance"]), s["baseline_label"],
                    _cell(s["baseline"]), _cell(fit.get("serial_fraction")), _cell(fit.get("t1")),
                    _cell(fit.get("speedup_limit")),
                ]
            )  # fmt: skip
    return rows
