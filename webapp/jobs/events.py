"""Live events: what the worker and the services push to the Channels groups that browsers join.

Two shapes on the wire. A **state** event (``kind: "job"``) is the whole job as the page draws it:
a subscriber gets one when it connects or asks for one after a gap, and everyone gets one when the
job changes status. A **delta** (``kind: "delta"``) carries only what changed since the previous
one: counters, and the unit spans and log lines that are new, each list with the index of its first
item (``spans_from``, ``log_from``) so a client can tell a gap from an overlap. A delta never
exceeds EVENT_BYTES: many new spans are split across several deltas, so the cost of an event does
not grow with the size of the job.

Every event carries the job's sequence number, so a page can drop one that arrives after a newer
state. Pushes happen after the database commit, and never fail the caller: a dead channel layer
costs live updates (pages still show the saved snapshot on reload), never a job.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from django.conf import settings

from kernels.registry import UnknownWorkload, get_workload
from webapp.group_send import group_send
from webapp.jobs.document import STATE_FIELDS, SUMMARY_FIELDS, job_document, progress_of
from webapp.jobs.models import Job

log = logging.getLogger(__name__)

LOG_LINES = 200  # log tail carried in a state event
EVENT_BYTES = 4096  # the most a delta may weigh, as JSON


def job_group(job_id: int) -> str:
    return f"job-{job_id}"


def team_group(team_id: int) -> str:
    return f"team-{team_id}"


def job_state(job: Job, *, with_spans: bool = True) -> dict[str, Any]:
    """The full state of a job as the job page draws it: what a subscriber gets first.

    ``with_spans=False`` (the status-change broadcast) leaves the spans out: watchers already have
    them from the deltas, and ``progress.spans_total`` tells one that missed some to ask for a state.
    """
    progress = progress_of(job, with_spans=with_spans)
    extra: dict[str, Any] = {"unit_labels": unit_labels(job)} if with_spans else {}
    return {
        **extra,
        "kind": "job",
        "seq": progress.get("seq", 0),
        **job_document(job, STATE_FIELDS),
        "progress": progress,
        "log": (job.log or [])[-LOG_LINES:],
        "artifacts": [a.name for a in job.artifacts.all()] if job.is_final else [],
    }


# Beyond this many units a lane's bars are too thin to point at one anyway, and the labels would be most
# of the state a subscriber gets on connecting (82 KB of labels for a 2,000-unit run).
MAX_LABELS = 500


def unit_labels(job: Job) -> list[str]:
    """What each unit of the job is ("fib(37)", "rows 0–15"), for the lanes' tooltips; [] if unknown."""
    try:
        workload = get_workload(job.workload)
        params = workload.validate(job.params)
        if workload.total_units(params, job.workers, job.backend) > MAX_LABELS:
            return []
        return workload.unit_labels(params, job.workers, job.backend)
    except (UnknownWorkload, ValueError):  # a job saved under older rules: lanes say "unit N"
        return []


def job_summary(job: Job) -> dict[str, Any]:
    """One row of the team feed (dashboard and history)."""
    return {"kind": "summary", "seq": (job.progress or {}).get("seq", 0), **job_document(job, SUMMARY_FIELDS)}


def job_deltas(
    *,
    job_id: int,
    status: str,
    progress: dict[str, Any],
    spans: list[dict[str, Any]],
    spans_from: int,
    log: list[str],
    log_from: int,
) -> list[dict[str, Any]]:
    """The new ``spans`` and ``log`` lines as one or more deltas of at most EVENT_BYTES each.

    The counters ride on every part (they are small, bounded by the worker count), so each part
    stands on its own and parts may be applied as they come.
    """
    head = {"kind": "delta", "id": job_id, "seq": progress["seq"], "status": status, "progress": progress}
    # The frame with the largest offsets it can carry, and room for publish()'s sent_at timestamp.
    frame = {**head, "spans_from": spans_from + len(spans), "spans": [], "log_from": log_from + len(log), "log": []}
    room = EVENT_BYTES - _size({**frame, "sent_at": "0" * 24})
    items = [("spans", span) for span in spans] + [("log", _clip(line, room)) for line in log]
    deltas: list[dict[str, Any]] = []
    position = {"spans": spans_from, "log": log_from}
    next_item = 0
    while True:
        part: dict[str, list[Any]] = {"spans": [], "log": []}
        used = 0
        while next_item < len(items):
            kind, item = items[next_item]
            cost = _size(item) + 1  # and its comma
            if used + cost > room:
                break
            part[kind].append(item)
            used += cost
            next_item += 1
        deltas.append({**head, "spans_from": position["spans"], "spans": part["spans"],
                       "log_from": position["log"], "log": part["log"]})  # fmt: skip
        position["spans"] += len(part["spans"])
        position["log"] += len(part["log"])
        if next_item == len(items):
            return deltas


def _size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":")).encode())


def _clip(line: str, room: int) -> str:
    """A log line too long for a delta of its own is cut on the wire (the saved log keeps it whole)."""
    while _size(line) + 1 > room:
        line = line[: len(line) * 3 // 4] + "…"
    return line


def publish(group: str, event: dict[str, Any]) -> None:
    event["sent_at"] = time.time()  # lets a client (and make bench-live) measure delivery latency
    try:
        # The group rides along: a web process's relay hands it to that group's sockets (webapp/jobs/relay.py).
        group_send(group, {"type": "paralab.event", "group": group, "event": event}, settings.LIVE_EVENTS_LAYER)
    except Exception:  # the layer being down must not fail a job; the snapshot in the DB still holds
        log.warning("could not publish %s event to %s", event.get("kind"), group, exc_info=True)


def publish_job(job_id: int, *, feed: bool = True) -> None:
    """Push the saved state of a job (without its spans) to its watchers, and a summary to its team's feed."""
    publish_jobs([job_id], feed=feed)


def publish_jobs(job_ids: list[int], *, feed: bool = True) -> None:
    """``publish_job`` for several jobs (a study's, just queued) with one read of them all (a finished
    job's artifacts are one more each: batches are of queued jobs)."""
    jobs = Job.objects.select_related("team", "submitted_by").filter(pk__in=job_ids)
    for job in jobs.order_by("id"):
        publish_job_read(job, feed=feed)


def publish_job_read(job: Job, *, feed: bool = True) -> None:
    """``publish_job`` for a job just read with its team and submitter (a worker's claim): no read again."""
    publish(job_group(job.pk), job_state(job, with_spans=False))
    if feed:
        publish(team_group(job.team_id), job_summary(job))


def publish_progress(job: Job, deltas: list[dict[str, Any]], *, feed: bool) -> None:
    """Progress straight from the worker's in-memory snapshot (no database read)."""
    for delta in deltas:
        publish(job_group(job.pk), delta)
    if feed and deltas:
        summary = job_summary(job)
        last = deltas[-1]
        progress = last["progress"]
        summary.update(seq=last["seq"], status=last["status"], done=progress["done"], total=progress["total"])
        publish(team_group(job.team_id), summary)
