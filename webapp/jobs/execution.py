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
from django.db import close_old_connections, connection, transaction
from django.db.models import F
from django.db.models.functions import Now

from kernels import balance, measurement, provenance
from kernels.engine import CheckedRequest, RunRequest, RunResult
from kernels.errors import Cancelled, DeadlineExceeded, EngineError
from kernels.progress import UnitSpan
from webapp.jobs.events import job_deltas, publish_job, publish_job_read, publish_progress
from webapp.jobs.models import Artifact, Job, Status
from webapp.jobs.services import job_options, job_transition
from webapp.jobs.slurm import job_runner
from webapp.jobs.spans import spans_append, spans_clear

log = logging.getLogger(__name__)

TICK = 0.2  # seconds: progress is saved, then published, at most five times a second per job
FEED_EVERY = 1.0  # the team feed gets a progress summary once a second
HEARTBEAT_EVERY = 2.0  # well under PARALAB_WORKER_LOST_AFTER (30 s by default)
CANCEL_POLL = 0.25
LOG_TAIL = 500


class ProgressSnapshot:
    """The state of a running job, built from engine callbacks on the reader thread.

    It remembers how many spans and log lines are already saved, so each flush takes only what is
    new: the cost of a flush depends on what happened since the last one, not on the job's size.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seq = 0
        self.done = 0
        self.total = 0
        self.elapsed = 0.0
        self.per_worker: dict[str, int] = {}
        self.running: dict[int, tuple[int, float]] = {}  # unit → (worker, start): begun, not ended
        self.spans: list[dict[str, Any]] = []
        self.log: list[str] = []  # the tail; log_total counts every line ever seen
        self.log_times: list[float] = []  # when each line of the tail arrived, seconds since this snapshot began
        self.log_total = 0
        self.began = time.monotonic()  # just before the engine starts: close to its clock, a little earlier
        self.first_start: float | None = None  # when the first unit was seen running (monotonic)
        self.scheduler: dict[str, Any] = {}  # a batch scheduler's word on the job (Slurm: webapp/jobs/slurm.py)
        self.saved_spans = 0
        self.saved_log = 0

    def on_progress(self, done: int, total: int, worker: int, elapsed: float, span: UnitSpan) -> None:
        with self._lock:
            self.seq += 1
            self.done, self.total, self.elapsed = done, total, elapsed
            self.per_worker[str(worker)] = self.per_worker.get(str(worker), 0) + 1
            self.running.pop(span.unit, None)
            self.spans.append(span.as_dict())

    def on_start(self, unit: int, worker: int, start: float) -> None:
        with self._lock:
            if self.first_start is None:
                self.first_start = time.monotonic()
            self.seq += 1
            self.running[unit] = (worker, start)

    def on_log(self, line: str) -> None:
        with self._lock:
            self.seq += 1
            self.log.append(line[:1000])
            self.log_times.append(round(time.monotonic() - self.began, 3))
            self.log_total += 1
            del self.log[:-LOG_TAIL]
            del self.log_times[:-LOG_TAIL]

    def on_scheduler(self, state: dict[str, Any]) -> None:
        with self._lock:
            self.seq += 1
            self.scheduler = state

    def bump(self) -> None:
        with self._lock:
            self.seq += 1

    def counters(self) -> dict[str, Any]:
        """What the job row's ``progress`` holds: small, whatever the number of units."""
        with self._lock:
            return self._counters()

    def _counters(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "done": self.done,
            "total": self.total,
            "elapsed": round(self.elapsed, 4),
            "workers": dict(self.per_worker),
            # At most one per worker: the units a live view draws growing from their start.
            "running": [[unit, worker, start] for unit, (worker, start) in sorted(self.running.items())],
            "spans_total": len(self.spans),
            "log_total": self.log_total,
            **({"scheduler": self.scheduler} if self.scheduler else {}),
        }

    def unsaved(self) -> tuple[dict[str, Any], list[dict[str, Any]], list[str]]:
        """The counters, and the spans and log lines not saved yet (from saved_spans / saved_log on)."""
        with self._lock:
            new_lines = min(self.log_total - self.saved_log, len(self.log))
            return self._counters(), self.spans[self.saved_spans :], self.log[len(self.log) - new_lines :]

    def mark_saved(self, counters: dict[str, Any]) -> None:
        with self._lock:
            self.saved_spans, self.saved_log = counters["spans_total"], counters["log_total"]

    def log_tail(self) -> list[str]:
        with self._lock:
            return list(self.log)

    def log_tail_times(self) -> list[float]:
        with self._lock:
            return list(self.log_times)


class Watcher(threading.Thread):
    """Saves progress to the database, then publishes it as deltas, and turns a cancel request into
    the engine's cancel event. One thread per running job, so the engine's callbacks never wait on I/O.

    Saving before publishing means a subscriber that asks for the state after any delta gets a state
    that already holds everything that delta carried.
    """

    def __init__(self, job: Job, snapshot: ProgressSnapshot, cancel: threading.Event):
        super().__init__(daemon=True, name=f"job-{job.pk}-watcher")
        self.job, self.snapshot, self.cancel = job, snapshot, cancel
        self.stopped = threading.Event()
        self._saved_seq = -1
        self._last = {"feed": 0.0, "cancel": 0.0, "heartbeat": 0.0}

    def run(self) -> None:
        try:
            while not self.stopped.wait(TICK):
                try:
                    self.tick()
                except Exception:  # a lost write is retried next tick; a dead watcher would look like a lost worker
                    log.exception("job %s: watcher tick failed", self.job.pk)
        finally:
            connection.close()

    def tick(self) -> None:
        now = time.monotonic()
        self.save_and_publish(heartbeat=now - self._last["heartbeat"] >= HEARTBEAT_EVERY)
        if now - self._last["cancel"] >= CANCEL_POLL:
            self._last["cancel"] = now
            # Stop on a cancel request, and also when the row is no longer this attempt's (the reaper
            # failed or requeued it): a run nobody will record must not go on using the cores.
            if not self.mine().filter(cancel_requested_at__isnull=True).exists():
                self.cancel.set()

    def mine(self) -> Any:
        """The job's row while it is running *this* attempt."""
        return Job.objects.filter(pk=self.job.pk, status=Status.RUNNING, attempts=self.job.attempts)

    def save_and_publish(self, *, heartbeat: bool) -> None:
        counters, spans, lines = self.snapshot.unsaved()
        changed = counters["seq"] != self._saved_seq
        if not changed and not heartbeat:
            return
        fields: dict[str, Any] = {}
        if changed:
            fields["progress"] = counters
            if lines:
                fields["log"] = self.snapshot.log_tail()
        if heartbeat:
            fields["heartbeat_at"] = Now()  # the database's clock, the one the reaper compares with
        with transaction.atomic():
            if not self.mine().update(**fields):
                return  # no longer this attempt's run: record nothing, publish nothing
            spans_append(job_id=self.job.pk, first=counters["spans_total"] - len(spans), spans=spans)
        self.snapshot.mark_saved(counters)
        self._saved_seq = counters["seq"]
        now = time.monotonic()
        if heartbeat:
            self._last["heartbeat"] = now
        if changed:
            feed = now - self._last["feed"] >= FEED_EVERY
            deltas = job_deltas(job_id=self.job.pk, status=Status.RUNNING, progress=counters, spans=spans,
                                spans_from=counters["spans_total"] - len(spans), log=lines,
                                log_from=counters["log_total"] - len(lines))  # fmt: skip
            publish_progress(self.job, deltas, feed=feed)
            if feed:
                self._last["feed"] = now


def job_execute(job_id: int) -> bool:
    """Run one job to a final state; False if it was not ours to run (another claim won, or it is no longer queued).

    Safe to call twice for the same job: only one claim succeeds.
    """
    close_old_connections()
    host = socket.gethostname()
    # The claim is one UPDATE (provenance in it) and one read, whose row is also what watchers are sent.
    claimed = job_transition(
        job_id=job_id,
        to=Status.RUNNING,
        only_from=(Status.QUEUED,),
        worker_host=host,
        heartbeat_at=Now(),
        attempts=F("attempts") + 1,
        provenance=provenance.collect(),
    )
    if not claimed:
        log.info("job %s was not queued (already claimed, cancelled or gone); skipping", job_id)
        return False
    claimed_at = time.monotonic()
    job = Job.objects.select_related("team", "submitted_by").get(pk=job_id)
    if job.attempts > 1:  # a requeued job's lanes start again with this attempt (a first one has none)
        spans_clear(job_id=job_id)
    publish_job_read(job)

    snapshot, cancel = ProgressSnapshot(), threading.Event()
    watcher = Watcher(job, snapshot, cancel)
    watcher.start()
    request = RunRequest(job.workload, job.params, job.backend, job.implementation, job.workers,
                         job_options(threads=job.threads))  # fmt: skip
    status = Status.FAILED
    fields: dict[str, Any] = {"error": "internal error"}
    started = time.monotonic()
    try:
        # The row was written by webapp/jobs/services.py once its request passed check_request, with the
        # cleaned params: the engine runs it as stored, with no second check on the worker.
        result = job_runner(job=job, on_scheduler=snapshot.on_scheduler)(
            CheckedRequest.trusted(request),
            on_progress=snapshot.on_progress,
            on_log=snapshot.on_log,
            on_start=snapshot.on_start,
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
        verdict = measurement.judge(backend=job.backend, implementation=job.implementation, workers=job.workers,
                                    wall_time=result.wall_time, spans=result.spans, host=result.host)  # fmt: skip
        fields = {
            "result": result.value,
            "verified": result.verified,
            "verification": result.verification,
            "wall_time": result.wall_time,
            "cpu_time": result.cpu_time,
            "measurement": {**result.host, **verdict.as_dict(), **_start_cost(claimed_at, snapshot)},
        }
        if result.layout:  # hybrid's ranks × threads, chosen where the ranks ran: what ran, beside where
            fields["provenance"] = {**(job.provenance or {}), "layout": result.layout}
    finally:
        # A cancelled or failed run keeps the time it ran, as it keeps the units it did.
        fields.setdefault("wall_time", round(time.monotonic() - started, 4))
        _finish(watcher, status, fields)
    return True


def _start_cost(claimed_at: float, snapshot: ProgressSnapshot) -> dict[str, float]:
    """Seconds from the claim to the first unit running, as this worker saw it: what a job pays before any of
    its work starts (an engine's start, its workers' or ranks'; issue 13). None seen (no units): no figure."""
    if snapshot.first_start is None:
        return {}
    return {"start_cost": round(snapshot.first_start - claimed_at, 4)}


def _finish(watcher: Watcher, status: str, fields: dict[str, Any]) -> None:
    """Record the outcome — only if the row is still this attempt's (a reaped job stays as the reaper left it)."""
    watcher.stopped.set()
    watcher.join()
    try:
        watcher.save_and_publish(heartbeat=False)  # the spans and lines since the last tick
    except Exception:  # the outcome matters more than the last few lanes
        log.exception("job %s: could not save its last progress", watcher.job.pk)
    watcher.snapshot.bump()  # the final event outranks every progress event before it
    # The final counters also keep when each line of the log tail came, so a finished run can be replayed.
    progress = {**watcher.snapshot.counters(), "log_times": watcher.snapshot.log_tail_times()}
    job = watcher.job
    # Failed and cancelled runs too: the units they did are worth seeing.
    diagnosis = balance.diagnose(
        watcher.snapshot.spans, workers=job.workers, worker_label=balance.worker_label(job.backend)
    )
    fields = {**fields, "balance": diagnosis.as_dict() if diagnosis else {}}
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
