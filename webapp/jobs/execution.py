"""What a worker does with a job: claim it, run the engine in its own process group, record everything.

Called by the thin Celery task ``tasks.jobs.run_job``. Progress goes to the job row a few times a
second from a watcher thread, which also notices a cancel request and stops the run.
"""

from __future__ import annotations

import hashlib
import logging
import socket
import threading
import time
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import close_old_connections, connection
from django.db.models import F
from django.db.models.functions import Now

from kernels import provenance
from kernels.engine import RunRequest, RunResult
from kernels.errors import Cancelled, DeadlineExceeded, EngineError
from kernels.isolated import run_isolated
from kernels.progress import UnitSpan
from webapp.jobs.events import LOG_LINES, publish_job, publish_progress
from webapp.jobs.models import Artifact, Job, Status
from webapp.jobs.services import job_transition

log = logging.getLogger(__name__)

PUBLISH_EVERY = 0.1  # seconds: at most ten live events per second per job
FLUSH_EVERY = 0.25  # at most four progress writes to the database per second per job
FEED_EVERY = 1.0  # the team feed gets a progress summary once a second
HEARTBEAT_EVERY = 2.0  # well under PARALAB_WORKER_LOST_AFTER (30 s by default)
CANCEL_POLL = 0.25
LOG_TAIL = 500


class ProgressSnapshot:
    """The latest state of a running job, built from engine callbacks on the reader thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seq = 0
        self.done = 0
        self.total = 0
        self.elapsed = 0.0
        self.per_worker: dict[str, int] = {}
        self.spans: list[dict[str, Any]] = []
        self.log: list[str] = []

    def on_progress(self, done: int, total: int, worker: int, elapsed: float, span: UnitSpan) -> None:
        with self._lock:
            self.seq += 1
            self.done, self.total, self.elapsed = done, total, elapsed
            self.per_worker[str(worker)] = self.per_worker.get(str(worker), 0) + 1
            self.spans.append(span.as_dict())

    def on_log(self, line: str) -> None:
        with self._lock:
            self.seq += 1
            self.log.append(line[:1000])
            del self.log[:-LOG_TAIL]

    def bump(self) -> None:
        with self._lock:
            self.seq += 1

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "seq": self.seq,
                "done": self.done,
                "total": self.total,
                "elapsed": round(self.elapsed, 4),
                "workers": dict(self.per_worker),
                "spans": list(self.spans),
            }

    def log_tail(self) -> list[str]:
        with self._lock:
            return list(self.log)


class Watcher(threading.Thread):
    """Publishes live events, saves the snapshot to the job row, and turns a cancel request into the
    engine's cancel event. One thread per running job, so the engine's callbacks never wait on I/O."""

    def __init__(self, job: Job, snapshot: ProgressSnapshot, cancel: threading.Event):
        super().__init__(daemon=True, name=f"job-{job.pk}-watcher")
        self.job, self.snapshot, self.cancel = job, snapshot, cancel
        self.stopped = threading.Event()
        self._published = self._written = -1
        self._last = {"flush": 0.0, "feed": 0.0, "cancel": 0.0, "heartbeat": 0.0}

    def run(self) -> None:
        try:
            while not self.stopped.wait(PUBLISH_EVERY):
                try:
                    self.tick()
                except Exception:  # a lost write is retried next tick; a dead watcher would look like a lost worker
                    log.exception("job %s: watcher tick failed", self.job.pk)
        finally:
            connection.close()

    def tick(self) -> None:
        now = time.monotonic()
        state = self.snapshot.as_dict()
        if state["seq"] != self._published:
            feed = now - self._last["feed"] >= FEED_EVERY
            live = {"kind": "job", "id": self.job.pk, "seq": state["seq"], "status": Status.RUNNING,
                    "progress": state, "log": self.snapshot.log_tail()[-LOG_LINES:]}  # fmt: skip
            publish_progress(self.job, live, feed=feed)
            self._published = state["seq"]
            if feed:
                self._last["feed"] = now
        if now - self._last["flush"] >= FLUSH_EVERY:
            self.flush(state, heartbeat=now - self._last["heartbeat"] >= HEARTBEAT_EVERY)
            self._last["flush"] = now
        if now - self._last["cancel"] >= CANCEL_POLL:
            self._last["cancel"] = now
            # Stop on a cancel request, and also when the row is no longer this attempt's (the reaper
            # failed or requeued it): a run nobody will record must not go on using the cores.
            if not self.mine().filter(cancel_requested_at__isnull=True).exists():
                self.cancel.set()

    def mine(self) -> Any:
        """The job's row while it is running *this* attempt."""
        return Job.objects.filter(pk=self.job.pk, status=Status.RUNNING, attempts=self.job.attempts)

    def flush(self, state: dict[str, Any], *, heartbeat: bool) -> None:
        fields: dict[str, Any] = {}
        if state["seq"] != self._written:
            fields.update(progress=state, log=self.snapshot.log_tail())
        if heartbeat:
            fields["heartbeat_at"] = Now()  # the database's clock, the one the reaper compares with
            self._last["heartbeat"] = time.monotonic()
        if fields:
            self.mine().update(**fields)
            self._written = state["seq"]


def job_execute(job_id: int) -> None:
    """Run one job to a final state. Safe to call twice for the same job: only one claim succeeds."""
    close_old_connections()
    host = socket.gethostname()
    claimed = job_transition(
        job_id=job_id,
        to=Status.RUNNING,
        only_from=(Status.QUEUED,),
        worker_host=host,
        heartbeat_at=Now(),
        attempts=F("attempts") + 1,
    )
    if not claimed:
        log.info("job %s was not queued (already claimed, cancelled or gone); skipping", job_id)
        return
    Job.objects.filter(pk=job_id).update(provenance=provenance.collect())
    job = Job.objects.select_related("team", "submitted_by").get(pk=job_id)
    publish_job(job_id)

    snapshot, cancel = ProgressSnapshot(), threading.Event()
    watcher = Watcher(job, snapshot, cancel)
    watcher.start()
    request = RunRequest(job.workload, job.params, job.backend, job.implementation, job.workers)
    status, fields = Status.FAILED, {"error": "internal error"}
    try:
        result = run_isolated(
            request,
            on_progress=snapshot.on_progress,
            on_log=snapshot.on_log,
            cancel=cancel,
            timeout=job.time_limit or settings.PARALAB_MAX_RUNTIME,
        )
        _save_artifacts(job, result)
    except DeadlineExceeded as exc:
        fields = {"error": f"time limit: {exc}; its processes were killed"}
    except Cancelled:
        status, fields = Status.CANCELLED, {"error": "cancelled while running; its processes were killed"}
    except (EngineError, ValueError) as exc:
        fields = {"error": str(exc)[:4000]}
    except Exception as exc:  # recorded on the job, never left running
        log.exception("job %s crashed", job_id)
        fields = {"error": f"internal error: {type(exc).__name__}: {exc}"[:4000]}
    else:
        status = Status.SUCCEEDED
        fields = {
            "result": result.value,
            "verified": result.verified,
            "verification": result.verification,
            "wall_time": result.wall_time,
        }
    finally:
        _finish(watcher, status, fields)


def _finish(watcher: Watcher, status: str, fields: dict[str, Any]) -> None:
    """Record the outcome — only if the row is still this attempt's (a reaped job stays as the reaper left it)."""
    watcher.stopped.set()
    watcher.join()
    watcher.snapshot.bump()  # the final event outranks every progress event before it
    progress = watcher.snapshot.as_dict()
    job = watcher.job
    job_transition(job_id=job.pk, to=status, only_from=(Status.RUNNING,), attempt=job.attempts,
                   progress=progress, log=watcher.snapshot.log_tail(), **fields)  # fmt: skip
    publish_job(job.pk)


def _save_artifacts(job: Job, result: RunResult) -> None:
    for name, data in result.artifacts.items():
        Artifact.objects.create(
            job=job,
            name=name,
            file=ContentFile(data, name=f"job-{job.pk}-{name}"),
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
        )


__all__ = ["job_execute"]
