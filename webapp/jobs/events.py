"""Live events: what the worker and the services push to the Channels groups that browsers join.

Every event carries the job's sequence number, so a page can drop one that arrives after a newer
state. Pushes happen after the database commit, and never fail the caller: a dead channel layer
costs live updates (pages still show the saved snapshot on reload), never a job.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from webapp.jobs.models import Job

log = logging.getLogger(__name__)

LOG_LINES = 200  # log tail carried in each job event


def job_group(job_id: int) -> str:
    return f"job-{job_id}"


def team_group(team_id: int) -> str:
    return f"team-{team_id}"


def job_state(job: Job) -> dict[str, Any]:
    """The full state of a job as the job page draws it; also what a late joiner receives first."""
    progress = job.progress or {}
    return {
        "kind": "job",
        "id": job.pk,
        "seq": progress.get("seq", 0),
        "status": job.status,
        "progress": progress,
        "log": (job.log or [])[-LOG_LINES:],
        "result": job.result,
        "verified": job.verified,
        "verification": job.verification,
        "error": job.error,
        "wall_time": job.wall_time,
        "worker_host": job.worker_host,
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "artifacts": [a.name for a in job.artifacts.all()] if job.is_final else [],
    }


def job_summary(job: Job) -> dict[str, Any]:
    """One row of the team feed (dashboard and history)."""
    progress = job.progress or {}
    return {
        "kind": "summary",
        "id": job.pk,
        "seq": progress.get("seq", 0),
        "team": job.team.slug,
        "workload": job.workload,
        "backend": job.backend,
        "implementation": job.implementation,
        "workers": job.workers,
        "status": job.status,
        "done": progress.get("done", 0),
        "total": progress.get("total", 0),
        "verified": job.verified,
        "wall_time": job.wall_time,
        "submitted_by": job.submitted_by.username,
        "queued_at": job.queued_at.isoformat(),
    }


def publish(group: str, event: dict[str, Any]) -> None:
    event["sent_at"] = time.time()  # lets a client (and make bench-live) measure delivery latency
    try:
        async_to_sync(get_channel_layer().group_send)(group, {"type": "paralab.event", "event": event})
    except Exception:  # the layer being down must not fail a job; the snapshot in the DB still holds
        log.warning("could not publish %s event to %s", event.get("kind"), group, exc_info=True)


def publish_job(job_id: int, *, feed: bool = True) -> None:
    """Push the saved state of a job to its watchers (and a summary to its team's feed)."""
    job = Job.objects.select_related("team", "submitted_by").filter(pk=job_id).first()
    if job is None:
        return
    publish(job_group(job.pk), job_state(job))
    if feed:
        publish(team_group(job.team_id), job_summary(job))


def publish_progress(job: Job, state: dict[str, Any], *, feed: bool) -> None:
    """A progress event straight from the worker's in-memory snapshot (no database read)."""
    publish(job_group(job.pk), state)
    if feed:
        summary = job_summary(job)
        progress = state["progress"]
        summary.update(seq=state["seq"], status=state["status"], done=progress["done"], total=progress["total"])
        publish(team_group(job.team_id), summary)
