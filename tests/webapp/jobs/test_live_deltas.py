"""Live progress at scale: a 10,000-unit run costs small events and a bounded number of writes.

The worker's watcher (webapp/jobs/execution.py) runs for real against the real database and the
real channel layer; the units come from a thread calling the engine's progress callback as fast as
a burst of tiny units would.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest
from channels.layers import get_channel_layer
from django.conf import settings
from django.db.backends.signals import connection_created

from kernels.progress import UnitSpan
from tests.webapp.jobs.test_consumers import apply_events
from webapp.jobs.events import EVENT_BYTES, job_group, job_state, publish
from webapp.jobs.execution import TICK, ProgressSnapshot, Watcher
from webapp.jobs.models import Job, SpanBatch, Status

UNITS = 10_000


class WriteCounter:
    """Counts the statements every new database connection runs (the watcher thread opens its own)."""

    def __init__(self) -> None:
        self.job_updates: list[int] = []  # bytes of parameters per UPDATE of the job row
        self.batch_inserts = 0
        self._lock = threading.Lock()

    def __call__(self, execute, sql, params, many, context):
        text = sql.lower()
        with self._lock:
            if text.startswith("update") and "jobs_job" in text:
                self.job_updates.append(sum(len(str(p)) for p in params or ()))
            elif text.startswith("insert") and "jobs_spanbatch" in text:
                self.batch_inserts += 1
        return execute(sql, params, many, context)

    def install(self, sender, connection, **kwargs) -> None:
        connection.execute_wrappers.append(self)


class Listening:
    """A subscriber to a group of the live events layer, in a thread with an event loop of its own (the
    layer's subscriptions belong to a loop), from ``start`` until the event of kind END arrives."""

    END = "test-end"

    def __init__(self, group: str) -> None:
        self.group, self.events, self.ready = group, [], threading.Event()
        self.thread = threading.Thread(target=asyncio.run, args=(self.listen(),))

    async def listen(self) -> None:
        layer = get_channel_layer(settings.LIVE_EVENTS_LAYER)
        channel = await layer.new_channel()
        await layer.group_add(self.group, channel)
        self.ready.set()
        while (event := (await layer.receive(channel))["event"])["kind"] != self.END:
            self.events.append(event)
        await layer.group_discard(self.group, channel)

    def start(self) -> None:
        self.thread.start()
        assert self.ready.wait(10)
        time.sleep(0.2)  # the SUBSCRIBE is written, not yet answered: let Redis take it first

    def stop(self) -> list[dict]:
        """Every event the group got, in order."""
        publish(self.group, {"kind": self.END})
        self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "the end of the events never arrived"
        return self.events


def feed_units(snapshot: ProgressSnapshot, seconds: float) -> None:
    """UNITS tiny units on two workers over ``seconds``, with a log line every 100 units."""
    started = time.monotonic()
    for unit in range(UNITS):
        at = time.monotonic() - started
        snapshot.on_progress(unit + 1, UNITS, unit % 2, at, UnitSpan(unit, unit % 2, round(at, 6), round(at, 6)))
        if unit % 100 == 0:
            snapshot.on_log(f"unit {unit}: " + "x" * 300)
        if unit % 50 == 0:
            time.sleep(seconds * 50 / UNITS)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_10000_unit_run_sends_small_deltas_and_bounded_writes(team_setup):
    job = Job.objects.create(team=team_setup["team_a"], submitted_by=team_setup["alice"], workload="montecarlo_pi",
                             backend="processes", implementation="python", workers=2, status=Status.RUNNING,
                             attempts=1)  # fmt: skip
    listening = Listening(job_group(job.pk))
    listening.start()

    counter = WriteCounter()
    connection_created.connect(counter.install)
    snapshot, cancel = ProgressSnapshot(), threading.Event()
    watcher = Watcher(job, snapshot, cancel)
    try:
        watcher.start()
        started = time.monotonic()
        feed_units(snapshot, seconds=3.0)
        time.sleep(TICK)
        # As the worker ends a run (execution._finish): stop the ticks, then save and publish what is left,
        # rather than hope one more tick came in time (a loaded host can be slow to schedule it).
        watcher.stopped.set()
        watcher.join()
        watcher.save_and_publish(heartbeat=False)
        duration = time.monotonic() - started
    finally:
        connection_created.disconnect(counter.install)

    events = listening.stop()

    sizes = [len(json.dumps(event, separators=(",", ":")).encode()) for event in events]
    assert events and max(sizes) <= EVENT_BYTES, f"largest event {max(sizes)} bytes"
    spans = apply_events([{"kind": "job", "progress": {"spans": []}}, *events])
    assert [span["unit"] for span in spans] == list(range(UNITS))

    # The database holds the same spans, in bounded batches, and the row stays small.
    job.refresh_from_db()
    assert job_state(job)["progress"]["spans"] == spans
    assert job.progress["spans_total"] == UNITS and "spans" not in job.progress
    ticks = duration / TICK + 2
    assert len(counter.job_updates) <= ticks, f"{len(counter.job_updates)} row writes in {duration:.1f} s"
    assert SpanBatch.objects.filter(job=job).count() <= ticks + UNITS / 1000
    # A row write carries counters and the log tail (≤ 500 lines), never the spans.
    assert max(counter.job_updates) < 200_000
    print(f"\n{UNITS} units in {duration:.1f} s: {len(events)} events, largest {max(sizes)} B, "
          f"mean {sum(sizes) / len(sizes):.0f} B; {len(counter.job_updates)} row writes, "
          f"{SpanBatch.objects.filter(job=job).count()} span batches")  # fmt: skip


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_client_that_saw_a_gap_asks_for_the_state_and_gets_every_span(team_setup):
    from channels.db import database_sync_to_async

    from tests.webapp.jobs.test_consumers import connect, make_job
    from webapp.jobs.spans import spans_append

    job = await make_job(team_setup["team_a"], team_setup["alice"], status=Status.RUNNING, attempts=1,
                         progress={"seq": 3, "done": 3, "total": 9, "spans_total": 3})  # fmt: skip
    communicator, connected = await connect(f"/ws/jobs/{job.pk}/", team_setup["bob"])
    assert connected
    first = await communicator.receive_json_from(timeout=5)
    assert first["kind"] == "job" and first["progress"]["spans"] == []

    # Three units finish while this client's deltas are lost; the next delta it sees starts at span 3.
    spans = [{"unit": u, "worker": u % 2, "start": u, "end": u + 0.5} for u in range(3)]
    await database_sync_to_async(spans_append)(job_id=job.pk, first=0, spans=spans)
    await communicator.send_json_to({"type": "state"})
    state = await communicator.receive_json_from(timeout=5)
    assert state["kind"] == "job" and state["progress"]["spans"] == spans

    # Asking again at once is not answered (a state is a database read); junk is ignored, not fatal.
    await communicator.send_json_to({"type": "state"})
    await communicator.send_to(text_data="not json")
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()
