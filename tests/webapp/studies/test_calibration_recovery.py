"""A lost calibration recovers as a lost job does: the sweeper sends it again when its message was never taken
(on a real worker, the study is then calibrated) or its worker's heartbeat went stale, not while a worker
heart-beats on it; and a duplicate delivery then returns without measuring. Messages go to a queue prefix of
the test's own, on the real Redis, so no other worker takes them and the test can count them."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from tests.webapp.studies.test_calibration import TINY, wait_for_study
from webapp.celery import app as celery_app
from webapp.jobs.models import Job
from webapp.studies import calibration
from webapp.studies.calibration import studies_recalibrate_lost, study_calibrate
from webapp.studies.models import Study
from webapp.studies.services import study_create


@pytest.fixture
def study_queue(settings):
    """The study queue of a prefix no worker serves (until the test starts one)."""
    settings.CELERY_TASK_DEFAULT_QUEUE = f"recal-{uuid.uuid4().hex[:6]}"
    yield f"{settings.CELERY_TASK_DEFAULT_QUEUE}.study"
    purge(f"{settings.CELERY_TASK_DEFAULT_QUEUE}.study")


def purge(queue: str) -> int:
    """Drop the messages waiting in ``queue`` (what a broker restart does); how many there were."""
    with celery_app.connection_for_write() as connection:
        return connection.default_channel.queue_purge(queue)


def calibrating(team_setup, *, ago: dict[str, float], created_ago: float = 0) -> Study:
    """A calibrating study whose ``sent_at`` / ``heartbeat_at`` were written ``ago`` seconds ago."""
    study = study_create(user=team_setup["alice"], team=team_setup["team_a"], **TINY, min_baseline=0.2)
    now = timezone.now()
    times = {key: (now - timedelta(seconds=seconds)).isoformat() for key, seconds in ago.items()}
    Study.objects.filter(pk=study.pk).update(
        calibration={"state": "calibrating", **times}, created_at=now - timedelta(seconds=created_ago)
    )
    return Study.objects.get(pk=study.pk)


@pytest.mark.django_db
def test_a_stale_heartbeat_gets_its_calibration_sent_again_once(team_setup, study_queue, settings):
    settings.PARALAB_WORKER_LOST_AFTER = 30
    study = calibrating(team_setup, ago={"sent_at": 120, "heartbeat_at": 60}, created_ago=120)
    assert studies_recalibrate_lost() == [study.pk]
    assert purge(study_queue) == 1
    sent_at = Study.objects.get(pk=study.pk).calibration["sent_at"]
    # The send is recorded, after the silent worker's last beat.
    assert datetime.fromisoformat(sent_at) > datetime.fromisoformat(study.calibration["heartbeat_at"])
    # Sent again, it waits for a worker like any sent message: no second send at the next sweep.
    assert studies_recalibrate_lost() == []
    assert purge(study_queue) == 0


@pytest.mark.django_db
def test_a_fresh_heartbeat_gets_no_second_message(team_setup, study_queue, settings):
    settings.PARALAB_WORKER_LOST_AFTER = 30
    calibrating(team_setup, ago={"sent_at": 10_000, "heartbeat_at": 1}, created_ago=10_000)
    assert studies_recalibrate_lost() == []
    assert purge(study_queue) == 0


@pytest.mark.django_db
def test_a_message_never_taken_is_sent_again_after_a_doubling_wait(team_setup, study_queue):
    # Created 1000 s ago and last sent 400 s ago: it had waited 600 s before that send, so it waits 600 again.
    study = calibrating(team_setup, ago={"sent_at": 400}, created_ago=1000)
    assert studies_recalibrate_lost(resend_after=300) == []
    Study.objects.filter(pk=study.pk).update(created_at=timezone.now() - timedelta(seconds=700))
    assert studies_recalibrate_lost(resend_after=300) == [study.pk]
    assert purge(study_queue) == 1


@pytest.mark.django_db
def test_a_duplicate_delivery_while_another_worker_heart_beats_returns_without_measuring(team_setup, settings):
    settings.PARALAB_WORKER_LOST_AFTER = 30
    study = calibrating(team_setup, ago={"sent_at": 5, "heartbeat_at": 1})
    study_calibrate(study_id=study.pk)  # the task's second delivery
    assert Study.objects.get(pk=study.pk).calibration == study.calibration  # nothing measured, nothing recorded
    assert not Job.objects.exists()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_calibration_whose_message_was_lost_is_calibrated_after_a_sweep(
    team_setup, study_queue, worker_factory, api_client_for, settings
):
    from tasks.reaper import sweep

    alice = api_client_for(team_setup["alice"])
    created = alice.post("/api/v1/studies/", {**TINY, "min_baseline": 0.2}, format="json")
    assert created.status_code == 201, created.content
    assert purge(study_queue) == 1  # the broker lost the calibration's message
    worker_factory("recalibrating", PARALAB_QUEUE=settings.CELERY_TASK_DEFAULT_QUEUE)
    study = Study.objects.get(pk=created.json()["id"])
    assert study.calibration["state"] == "calibrating" and "heartbeat_at" not in study.calibration

    settings.PARALAB_REDISPATCH_AFTER = 0  # this sweep finds the message overdue
    sweep()
    doc = wait_for_study(alice, study.pk)
    assert doc["status"] == "succeeded", (doc["calibration"], doc["runs"])
    assert doc["calibration"]["state"] == "calibrated" and doc["calibration"]["heartbeat_at"]
    assert Job.objects.filter(study_run__study_id=study.pk).count() == 2


def heartbeat(study_id: int) -> datetime | None:
    beat = Study.objects.get(pk=study_id).calibration.get("heartbeat_at")
    return datetime.fromisoformat(beat) if beat else None


def wait_for_beat_after(study_id: int, moment: datetime, timeout: float = 10.0) -> datetime | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        beat = heartbeat(study_id)
        if beat is not None and beat > moment:
            return beat
        time.sleep(0.2)
    return None


class ClosingStop(threading.Event):
    """The watcher's stop event, which also closes the watcher's database connection when the test asks: in
    the watcher's own thread, between two of its queries (it waits on this event between them). Closed from
    the test's thread instead, SQLite's C library crashed the whole run with a segfault when the close
    came in the middle of a query (seen in CI)."""

    def __init__(self) -> None:
        super().__init__()
        self.close_next, self.closed = threading.Event(), threading.Event()

    def wait(self, timeout: float | None = None) -> bool:
        if self.close_next.is_set() and not self.closed.is_set() and connection.connection is not None:
            connection.connection.close()  # Django's wrapper does not know: its next query meets a closed connection
            self.closed.set()
        return super().wait(timeout)


@pytest.mark.django_db(transaction=True)
def test_the_calibration_watcher_heart_beats_on_after_its_connection_is_closed_under_it(
    team_setup, study_queue, caplog
):
    # Before: the first database error ended the watcher, its heartbeats stopped while the baseline still ran,
    # and the sweeper sent the calibration again, for a second worker to measure too.
    study = calibrating(team_setup, ago={"sent_at": 1, "heartbeat_at": 1})
    cancel, stop = threading.Event(), ClosingStop()

    def watcher() -> None:  # the thread's own connection, opened first
        connection.ensure_connection()
        calibration._watch(study.pk, cancel, stop)

    thread = threading.Thread(target=watcher, daemon=True)
    thread.start()
    try:
        first = wait_for_beat_after(study.pk, heartbeat(study.pk))
        assert first is not None
        with caplog.at_level(logging.WARNING, logger="webapp.studies.calibration"):
            stop.close_next.set()  # the database connection is gone under the watcher (a restart, a network cut)
            assert stop.closed.wait(10), "the watcher never waited again"
            again = wait_for_beat_after(study.pk, first)
        assert again is not None, "the watcher stopped heart-beating after a database error"
        assert thread.is_alive() and not cancel.is_set()
        cannot = [r for r in caplog.records if "cannot reach the database" in r.getMessage()]
        assert len(cannot) == 1  # once per outage
        # It still does its other work once back: a cancelled study stops the baseline and ends the watcher.
        Study.objects.filter(pk=study.pk).update(calibration={**Study.objects.get(pk=study.pk).calibration,
                                                              "state": "cancelled"})  # fmt: skip
        thread.join(timeout=10)
        assert cancel.is_set() and not thread.is_alive()
    finally:
        stop.set()
        thread.join(timeout=10)
