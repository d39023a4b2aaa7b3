"""A study whose baseline must last at least T seconds: its size is calibrated on a worker before its jobs are made.

``study_create`` with ``min_baseline`` makes the study without jobs and queues ``calibrate_study`` on the
study queue (so the measurements, like the study's jobs, have the worker to themselves). The task calls
``study_calibrate``: for each implementation (native runs ~100× faster than python, so each gets its own
size) the sequential baseline runs at the size asked for and is scaled by kernels/calibration.py until it
lasts T; then the study's jobs are made in bulk with those sizes. What was scaled (from → to, the measured
baseline) or why it could not be is kept on the study, for its page and its API document.

A calibration is lost like a job's message or worker can be (Redis keeps queued messages in memory; a worker
can die): it records when it was sent (``sent_at``) and its worker's heartbeat (``heartbeat_at``), both by the
database's clock, and the sweeper sends it again (``studies_recalibrate_lost``). A duplicate is harmless: only
one worker at a time calibrates a study, the one that finds no fresh heartbeat on it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models.functions import Now

from kernels.calibration import calibrate
from kernels.engine import RunRequest, check_request
from kernels.errors import Cancelled, DeadlineExceeded, EngineError
from kernels.isolated import run_isolated
from kernels.params import Param, ParamError
from kernels.registry import get_workload
from kernels.scaling import BASELINE_BACKEND
from webapp.celery import CALIBRATE_STUDY
from webapp.celery import app as celery_app
from webapp.jobs.execution import HEARTBEAT_EVERY
from webapp.jobs.services import JobInputError, jobs_submit_planned, team_capacity_check
from webapp.queues import queue_name
from webapp.studies.models import Study, StudyRun
from webapp.teams.selectors import team_submitter_check

log = logging.getLogger(__name__)

CALIBRATING, CALIBRATED, FAILED, CANCELLED = "calibrating", "calibrated", "failed", "cancelled"
MIN_BASELINE = 0.1  # seconds: below this even a calibrated baseline is mostly the run's start-up
CANCEL_POLL = 0.5  # seconds between looks at whether the study was cancelled while a baseline runs
UNSENT_AFTER = 10.0  # seconds: a calibrating study never sent by then lost its send (as jobs_redispatch's)


def baseline_limit() -> float:
    """The longest a calibrated baseline may be predicted to last: half a job's time limit, so the study's
    slower runs (Python threads take longer than the sequential run) still finish within it."""
    return settings.PARALAB_MAX_RUNTIME / 2


def min_baseline_clean(raw: Any) -> float | None:
    """Seconds the baseline must last, or None (no calibration); JobInputError names ``min_baseline``."""
    if raw is None or raw == "":
        return None
    most = baseline_limit() / 2  # room for a round that overshoots, under the limit
    try:
        return float(Param("min_baseline", "float", None, MIN_BASELINE, most).clean(raw))
    except ParamError as exc:
        raise JobInputError("min_baseline", f"{exc.reason} (seconds the sequential baseline must last)") from None


def calibration_send(study_id: int) -> None:
    """Queue the study's calibration (after its row is committed); a refused send fails it, visibly."""
    try:
        _send(study_id)
    except Exception as exc:  # the broker went away since study_create asked it
        log.warning("could not send study %s's calibration to the broker", study_id, exc_info=True)
        _end(study_id, FAILED, error=f"could not queue the calibration: {exc}; start the study again")


def _send(study_id: int) -> None:
    celery_app.send_task(CALIBRATE_STUDY, (study_id,), queue=queue_name("study"), retry=False)
    _stamp(study_id, "sent_at")


def studies_recalibrate_lost(*, lost_after: float | None = None, resend_after: float | None = None) -> list[int]:
    """Send again the calibrations that are lost: their worker went silent, or their message was never taken.

    For the sweeper (tasks/reaper.py), as ``jobs_reap_lost`` and ``jobs_redispatch`` do for jobs. A message
    may also just wait in the study queue behind another study's jobs: the wait between sends doubles, so
    such a study gets a few harmless duplicates, not one every sweep.
    """
    lost_after = settings.PARALAB_WORKER_LOST_AFTER if lost_after is None else lost_after
    resend_after = settings.PARALAB_REDISPATCH_AFTER if resend_after is None else resend_after
    resent = []
    for study in Study.objects.filter(calibration__state=CALIBRATING, runs__isnull=True).annotate(now=Now()):
        if not _lost(study, lost_after=lost_after, resend_after=resend_after):
            continue
        try:
            _send(study.pk)
        except Exception:  # the broker is away: the next sweep tries again
            log.warning("could not send study %s's calibration again", study.pk, exc_info=True)
            continue
        resent.append(study.pk)
    return resent


def _lost(study: Any, *, lost_after: float, resend_after: float) -> bool:
    if _beating(study, lost_after):
        return False  # a worker is calibrating it
    beat, sent = _when(study.calibration, "heartbeat_at"), _when(study.calibration, "sent_at")
    if beat is not None and (sent is None or beat >= sent):
        return True  # a worker took its last message, then went silent
    if sent is None:  # committed, but its sender died before sending
        return study.now - study.created_at >= timedelta(seconds=UNSENT_AFTER)
    # Not taken since the last send: wait at least as long as it had waited before that send.
    return study.now - sent >= max(timedelta(seconds=resend_after), sent - study.created_at)


def _beating(study: Any, lost_after: float) -> bool:
    """Whether a worker's heartbeat on the study is fresh, by the database's clock (``study.now``)."""
    beat = _when(study.calibration, "heartbeat_at")
    return beat is not None and study.now - beat < timedelta(seconds=lost_after)


def _when(calibration: dict[str, Any], key: str) -> datetime | None:
    return datetime.fromisoformat(calibration[key]) if calibration.get(key) else None


def study_calibrate(*, study_id: int) -> None:
    """Calibrate each implementation's baseline, then make the study's jobs with the sizes found.

    Runs on a worker (tasks/studies.py). Safe to call twice: only a study still calibrating, without jobs
    and without a fresh heartbeat of another worker is calibrated, and its jobs are made under its row's lock.
    """
    study = _claim(study_id)
    if study is None:
        return
    target = float(study.min_baseline or 0)
    workload = get_workload(study.workload)
    found: dict[str, dict[str, Any]] = {}
    cancel, stop = threading.Event(), threading.Event()
    watcher = threading.Thread(target=_watch, args=(study_id, cancel, stop), daemon=True, name=f"study-{study_id}")
    watcher.start()
    implementation = study.implementations[0]
    try:
        for implementation in study.implementations:

            def measure(params: dict[str, Any], implementation: str = implementation) -> float:
                request = check_request(RunRequest(study.workload, params, BASELINE_BACKEND, implementation, 1))
                return run_isolated(request, cancel=cancel, timeout=settings.PARALAB_MAX_RUNTIME).wall_time

            result = calibrate(workload, study.params, target=target, measure=measure, limit=baseline_limit())
            found[implementation] = result.as_dict()
            _record(study_id, found)  # the page shows each implementation as soon as it is done
    except DeadlineExceeded as exc:
        _end(study_id, FAILED, found, error=f"calibrating {implementation}: the baseline's {exc}")
        return
    except Cancelled:  # the study was cancelled (then this changes nothing: study_cancel recorded it)
        _end(study_id, FAILED, found, error=f"calibrating {implementation}: its baseline run was stopped")
        return
    except (EngineError, ValueError) as exc:
        _end(study_id, FAILED, found, error=f"calibrating {implementation}: {exc}"[:2000])
        return
    except Exception as exc:  # recorded on the study, never left calibrating
        log.exception("study %s: calibration crashed", study_id)
        _end(study_id, FAILED, found, error=f"internal error: {type(exc).__name__}: {exc}"[:2000])
        return
    finally:
        stop.set()
    try:
        _make_jobs(study_id, found)
    except JobInputError as exc:  # the team is full now, say
        _end(study_id, FAILED, found, error=f"calibrated, but its jobs could not be made: {exc.field}: {exc.reason}")
    except PermissionDenied as exc:  # its author is no longer a member who may start studies
        _end(study_id, FAILED, found, error=f"calibrated, but its jobs could not be made: {exc}")


def _make_jobs(study_id: int, found: dict[str, dict[str, Any]]) -> None:
    """The study's jobs, each implementation's with its calibrated parameters, in the order study_create
    queues them (repetition by repetition), in one INSERT; the study is then calibrated."""
    from webapp.studies.services import study_plan  # services imports this module to start calibrations

    with transaction.atomic():
        study = Study.objects.select_for_update().select_related("team", "created_by").filter(pk=study_id).first()
        if study is None or study.calibration.get("state") != CALIBRATING or study.runs.exists():
            return  # deleted or cancelled meanwhile, or another delivery of the task made them
        team_submitter_check(user=study.created_by, team=study.team, action="start or cancel studies")
        plans = {
            implementation: study_plan(workload=study.workload, params=found[implementation]["to"],
                                       backends=study.backends, implementations=study.implementations,
                                       workers=study.workers, repetitions=study.repetitions, threads=study.threads)
            for implementation in study.implementations
        }  # fmt: skip
        plan = plans[study.implementations[0]]
        team_capacity_check(team=study.team, adding=plan.job_count)
        jobs = jobs_submit_planned(user=study.created_by, team=study.team, workload=study.workload,
                                   params=plan.params, configs=plan.configs * plan.repetitions,
                                   threads=plan.threads,
                                   params_for={name: p.params for name, p in plans.items()})  # fmt: skip
        repetitions = [r for r in range(1, plan.repetitions + 1) for _ in plan.configs]
        StudyRun.objects.bulk_create(
            StudyRun(study=study, job=job, repetition=r) for job, r in zip(jobs, repetitions, strict=True)
        )
        study.calibration = {**study.calibration, "state": CALIBRATED, "implementations": found}
        study.save(update_fields=["calibration"])


def calibration_cancel(*, study: Study) -> bool:
    """Stop a calibration that has not made the study's jobs yet; True if there was one."""
    stopped = _end(study.pk, CANCELLED, error="stopped by a cancel before any job was made")
    study.refresh_from_db(fields=["calibration"])  # the caller shows the study as it is now
    return stopped


@contextmanager
def _calibrating(study_id: int) -> Iterator[Any]:
    """The study locked, with the database's clock as ``now``, if it is still calibrating (else None)."""
    with transaction.atomic():
        yield (
            Study.objects.select_for_update()
            .filter(pk=study_id, calibration__state=CALIBRATING)
            .annotate(now=Now())
            .first()
        )


def _claim(study_id: int) -> Study | None:
    """The study to calibrate, its first heartbeat written, unless it has jobs or another worker's heartbeat
    on it is fresh (a duplicate delivery: two workers must not measure it at once)."""
    with _calibrating(study_id) as study:
        if study is None or study.runs.exists() or _beating(study, settings.PARALAB_WORKER_LOST_AFTER):
            return None
        _merge(study, heartbeat_at=study.now.isoformat())
        return study


def _stamp(study_id: int, key: str) -> None:
    """The database's time into the calibration's ``key`` if the study is still calibrating: the sweeper
    compares it with the same clock (hosts' clocks may differ)."""
    with _calibrating(study_id) as study:
        if study is not None:
            _merge(study, **{key: study.now.isoformat()})


def _record(study_id: int, found: dict[str, dict[str, Any]]) -> None:
    with _calibrating(study_id) as study:
        if study is not None:
            _merge(study, implementations=dict(found))


def _end(study_id: int, state: str, found: dict[str, dict[str, Any]] | None = None, *, error: str = "") -> bool:
    """Move a study still calibrating to ``state`` with ``error``; False if it had already left calibrating."""
    with _calibrating(study_id) as study:
        if study is None:
            return False
        _merge(study, state=state, error=error, **({"implementations": dict(found)} if found else {}))
    return True


def _merge(study: Study, **changes: Any) -> None:
    """``changes`` into the locked study's calibration, saved (that field alone)."""
    study.calibration = {**study.calibration, **changes}
    study.save(update_fields=["calibration"])


def _watch(study_id: int, cancel: threading.Event, stop: threading.Event) -> None:
    """Stop the running baseline once the study is no longer calibrating (cancelled), as a job's watcher does,
    and heart-beat every HEARTBEAT_EVERY seconds, as a job's does, so the sweeper can tell this worker lives.

    A database error does not end it: a watcher gone quiet would let the sweeper send the calibration again
    while it still runs (a second worker would find no fresh heartbeat and measure it too). It drops the
    connection, which may be the broken part, and tries again, less often while the error lasts."""
    beaten = time.monotonic()  # _claim wrote the first
    wait, failing = CANCEL_POLL, False
    try:
        while not stop.wait(wait):
            try:
                if time.monotonic() - beaten >= HEARTBEAT_EVERY:
                    _stamp(study_id, "heartbeat_at")
                    beaten = time.monotonic()
                if Study.objects.filter(pk=study_id).exclude(calibration__state=CALIBRATING).exists():
                    cancel.set()
                    return
            except Exception:
                if not failing:  # once per outage, not every try
                    log.warning("study %s: calibration watcher cannot reach the database; retrying", study_id,
                                exc_info=True)  # fmt: skip
                failing = True
                connection.close()  # the next try opens a new one
                # Capped at the heartbeat's period, so one beat at most is missed once the database is back.
                wait = min(wait * 2, HEARTBEAT_EVERY)
                continue
            if failing:
                log.warning("study %s: calibration watcher reaches the database again", study_id)
            wait, failing = CANCEL_POLL, False
    finally:
        connection.close()
