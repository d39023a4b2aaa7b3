"""Where a job's unit spans are kept: appended in bounded batches while it runs, read back whole.

A span is ``{"unit", "worker", "start", "end"}`` (kernels.progress.UnitSpan). Jobs saved before
spans had their own table carry them in ``progress["spans"]``; reads fall back to that.
"""

from __future__ import annotations

from typing import Any

from webapp.jobs.models import Job, SpanBatch

BATCH_SPANS = 1000  # spans per row: a flush after a burst of tiny units writes a few rows, never one huge one


def spans_append(*, job_id: int, first: int, spans: list[dict[str, Any]]) -> None:
    """Store ``spans``, the run's spans from index ``first`` on. Call inside the fenced progress write."""
    SpanBatch.objects.bulk_create(
        SpanBatch(job_id=job_id, first=first + offset, spans=spans[offset : offset + BATCH_SPANS])
        for offset in range(0, len(spans), BATCH_SPANS)
    )


def spans_clear(*, job_id: int) -> None:
    """Forget an earlier attempt's spans (a requeued job starts its lanes again)."""
    SpanBatch.objects.filter(job_id=job_id).delete()


def spans_of(job: Job) -> list[dict[str, Any]]:
    """Every span of the job so far, in the order the units finished."""
    spans: list[dict[str, Any]] = []
    for batch in SpanBatch.objects.filter(job_id=job.pk).order_by("first").values_list("spans", flat=True):
        spans.extend(batch)
    return spans or list((job.progress or {}).get("spans", []))
