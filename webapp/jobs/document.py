"""One job as a dict: how each field reads from a job, written once, and the named field sets each place
shows (the API, the live events, the exports, compare, a study's runs, a webhook), so a light and a heavy
view of a job differ in which fields they name, never in how a field is read.

The API's serializers (webapp/jobs/serializers.py) keep DRF's field declarations for the OpenAPI schema,
but their values are read here too; only its links and queue place, which need the request, are its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from webapp.jobs.models import Job
from webapp.jobs.spans import spans_of


def iso_datetime(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with ``Z`` ("2026-11-29T19:30:20.123456Z"), as DRF renders a date and API clients have
    always read one: one format for every date of a job, wherever it is shown."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def progress_of(job: Job, *, with_spans: bool) -> dict[str, Any]:
    """The job's progress counters, and with ``with_spans`` every unit span so far (a query: the spans are
    kept beside the row, webapp/jobs/spans.py). Spans a job saved in the row before that are left out of
    the counters either way."""
    progress = {key: value for key, value in (job.progress or {}).items() if key != "spans"}
    if with_spans:
        progress["spans"] = spans_of(job)
    return progress


def _counter(name: str) -> Callable[[Job], Any]:
    """``done`` or ``total`` of the job's progress: from the row's annotation when the queryset made one
    (selectors.job_rows defers the progress JSON, so reading it would cost a query per row), else from it."""
    annotation = f"progress_{name}"

    def read(job: Job) -> Any:
        if hasattr(job, annotation):
            return int(getattr(job, annotation) or 0)
        return (job.progress or {}).get(name, 0)

    return read


READERS: dict[str, Callable[[Job], Any]] = {
    "id": lambda job: job.pk,
    "team": lambda job: job.team.slug,
    "submitted_by": lambda job: job.submitted_by.get_username(),
    "workload": lambda job: job.workload,
    "params": lambda job: job.params,
    "backend": lambda job: job.backend,
    "implementation": lambda job: job.implementation,
    "workers": lambda job: job.workers,
    "threads": lambda job: job.threads,
    "capability": lambda job: job.capability,  # "study": the dashboard folds it into its study's line
    "status": lambda job: job.status,
    "done": _counter("done"),
    "total": _counter("total"),
    "result": lambda job: job.result,
    "verified": lambda job: job.verified,
    "verification": lambda job: job.verification,
    "error": lambda job: job.error,
    "wall_time": lambda job: job.wall_time,
    "cpu_time": lambda job: job.cpu_time,
    "measurement": lambda job: job.measurement,
    "balance": lambda job: job.balance,
    "worker_host": lambda job: job.worker_host,
    "provenance": lambda job: job.provenance,
    "log": lambda job: job.log,
    "queued_at": lambda job: iso_datetime(job.queued_at),
    "started_at": lambda job: iso_datetime(job.started_at),
    "finished_at": lambda job: iso_datetime(job.finished_at),
    "cancel_requested_at": lambda job: iso_datetime(job.cancel_requested_at),
    "heartbeat_at": lambda job: iso_datetime(job.heartbeat_at),
    "time_limit": lambda job: job.time_limit,
    "attempts": lambda job: job.attempts,
    "rerun_of": lambda job: job.rerun_of_id,
}

# The API's job (GET /api/v1/jobs/<id>/) and its list, which leaves out the bulky fields. The serializers
# read url, progress (with the unit spans; the list's only counts), artifacts (with links) and queue.
API_FIELDS = (
    "id", "url", "team", "submitted_by", "workload", "params", "backend", "implementation", "workers", "threads",
    "status",
    "progress", "result", "verified", "verification", "error", "wall_time", "cpu_time", "measurement", "balance",
    "worker_host", "provenance", "queued_at", "started_at", "finished_at", "cancel_requested_at", "time_limit",
    "attempts", "heartbeat_at", "capability", "rerun_of", "artifacts", "log", "queue",
)  # fmt: skip
API_LIST_FIELDS = tuple(
    f for f in API_FIELDS if f not in ("log", "provenance", "artifacts", "measurement", "balance", "queue")
)
# A state event (events.job_state) adds its progress, log tail and artifact names to these.
STATE_FIELDS = (
    "id", "status", "result", "verified", "verification", "error", "wall_time", "worker_host", "started_at",
    "finished_at",
)  # fmt: skip
# One row of the team feed (dashboard and history).
SUMMARY_FIELDS = (
    "id", "team", "workload", "backend", "implementation", "workers", "capability", "status", "done", "total",
    "verified", "wall_time", "submitted_by", "queued_at",
)  # fmt: skip
# The jobs export: CSV columns (a few provenance fields beside them), and the JSON with the whole provenance.
# ``threads`` is the threads per rank asked (empty: the default layout); what ran is provenance.layout.
EXPORT_COLUMNS = (
    "id", "team", "submitted_by", "workload", "params", "backend", "implementation", "workers", "threads", "status",
    "verified", "verification", "wall_time", "worker_host", "queued_at", "started_at", "finished_at", "error",
)  # fmt: skip
EXPORT_FIELDS = (*EXPORT_COLUMNS, "provenance")
# A job side by side with others (comparison.compare_jobs adds its speedup).
COMPARE_FIELDS = (
    "id", "team", "workload", "backend", "implementation", "workers", "status", "verified", "verification",
    "wall_time",
)  # fmt: skip
# One run of a study (studies.serializers.study_document adds its repetition, links and counters).
STUDY_RUN_FIELDS = ("backend", "implementation", "workers", "threads", "status", "verified", "wall_time")
# A study's jobs export (studies.exports.study_job_rows adds the study, repetition, layout, counted and speedup).
STUDY_EXPORT_FIELDS = (
    "id", "backend", "implementation", "workers", "threads", "status", "verified", "wall_time", "worker_host",
    "started_at", "finished_at",
)  # fmt: skip
# A finished job's webhook (notifications.services.job_payload adds the link to its page and its study).
WEBHOOK_FIELDS = (
    "id", "status", "workload", "backend", "implementation", "workers", "submitted_by", "queued_at", "started_at",
    "finished_at", "wall_time", "verified", "error",
)  # fmt: skip


def job_document(job: Job, fields: Iterable[str]) -> dict[str, Any]:
    """The job's ``fields``, in that order, each read as READERS reads it."""
    return {name: READERS[name](job) for name in fields}
