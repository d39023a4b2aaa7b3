"""`make bench-live`'s live fan-out: N WebSocket subscribers on one running job, and what a real
2,000-unit job costs on the live path. Used by bench.live, which owns the stack and the table.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import resource
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SUBSCRIBERS = (0, 1, 100, 500)  # 0: the publisher alone, the baseline its cost is compared with
REPLAY_SECONDS = 6.0  # of the worker's cadence per subscriber count: 30 ticks, ~50 deltas of the 2,000-unit run
CONNECT_AT_ONCE = 25  # handshakes in flight while the subscribers connect
DRAIN_SECONDS = 60  # after the replay, for the last events to reach every subscriber
END = "bench-end"  # the kind of the event that tells the subscribers the replay is over
# Monte Carlo π at the workload's bound (kernels/workloads/montecarlo_pi.py: 2·10⁹ samples, units of
# 10⁶): 2,000 units, the size at which snapshots on the wire reached ~93 KiB an event (issue 10).
BIG_JOB: dict[str, Any] = {
    "workload": "montecarlo_pi",
    "params": {"samples": 2_000_000_000},
    "backend": "processes",
    "implementation": "native",
    "workers": 2,
}


def raise_open_files_limit(subscribers: int) -> int:
    """Lift this process's soft limit on open files (daphne and the worker inherit it) to what
    ``subscribers`` sockets need at both ends, plus room for the rest; refuse if the hard limit is lower."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = 2 * subscribers + 1024
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise RuntimeError(f"{subscribers} subscribers need {needed} open files; the hard limit is {hard}")
    if soft != resource.RLIM_INFINITY and soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


@dataclass
class Fanout:
    subscribers: int
    published: int  # deltas the worker's code published
    costs: list[float]  # seconds spent in publish per event, in the publishing process (wall clock)
    cpu_costs: list[float]  # CPU seconds spent in publish per event: the calling thread's and the publisher's
    # The same events published side by side, tick by tick, to a twin job's groups that nobody watches.
    unwatched_costs: list[float] = field(default_factory=list)
    unwatched_cpu_costs: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)  # receive time − sent_at, every client × delta
    sizes: list[int] = field(default_factory=list)  # payload bytes of every delta received
    fewest: int = 0  # the fewest deltas one subscriber received
    redis_bytes: int = 0  # what one group_send stores in Redis for the job's group
    server_cpu: float = 0.0  # CPU seconds the ASGI server used while the deltas were delivered


async def measure_fanout(
    url: str, headers: dict[str, str], job_id: int, subscribers: int, spans: list[dict], server_pid: int
) -> Fanout:
    """``subscribers`` WebSocket clients on job ``job_id`` (a running job with no spans yet), while
    another process replays ``spans`` through the worker's own Watcher at its cadence.

    The server's CPU time is counted too: on a shared machine the latencies move with the load,
    its CPU per event much less."""
    import websockets

    gate = asyncio.Semaphore(CONNECT_AT_ONCE)

    async def connect() -> Any:
        async with gate:
            ws = await websockets.connect(url, additional_headers=headers, open_timeout=60, max_size=None)
            await ws.recv()  # the state every subscriber gets first
            return ws

    async def listen(ws: Any, received: list[tuple[float, bytes]]) -> None:
        # Only the receive time and the raw payload here: parsing later keeps this process's own
        # work (it hosts every client) out of the next message's latency.
        while True:
            raw = await ws.recv(decode=False)
            received.append((time.time(), raw))
            if END.encode() in raw:
                return

    async def close(ws: Any) -> None:
        # As gated as the handshakes: each close is three group_discard calls on daphne's Redis pool,
        # which refuses more than 100 at once (redis-py 8's MaxConnectionsError).
        async with gate:
            await ws.close()

    sockets = list(await asyncio.gather(*(connect() for _ in range(subscribers))))
    received: list[list[tuple[float, bytes]]] = [[] for _ in sockets]
    try:
        listeners = [asyncio.create_task(listen(ws, into)) for ws, into in zip(sockets, received, strict=True)]
        cpu_before = cpu_seconds(server_pid)
        result = await asyncio.to_thread(replay_in_worker_process, job_id, spans)
        # An overloaded server may never deliver the end (the layer drops messages older than its
        # expiry): what arrived by then is counted, and the "received" column shows what did not.
        if listeners:
            await asyncio.wait(listeners, timeout=DRAIN_SECONDS)
        for listener in listeners:
            listener.cancel()
        result.server_cpu = cpu_seconds(server_pid) - cpu_before
        first = next((json.loads(raw) for messages in received for _, raw in messages if b'"delta"' in raw), None)
        if first is not None:
            result.redis_bytes = await group_message_bytes(job_id, first)
    finally:
        await asyncio.gather(*(close(ws) for ws in sockets))
    result.subscribers = subscribers
    counts = []
    for messages in received:
        deltas = 0
        for at, raw in messages:
            event = json.loads(raw)
            if event["kind"] == "delta":
                result.latencies.append(at - event["sent_at"])
                result.sizes.append(len(raw))
                deltas += 1
        counts.append(deltas)
    result.fewest = min(counts, default=0)
    return result


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc; fields 14 and 15 of its stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def group_message_bytes(job_id: int, event: dict[str, Any]) -> int:
    """The bytes one group_send of ``event`` puts through Redis on the live events layer. A pub/sub layer
    (settings.LIVE_EVENTS_LAYER) publishes the message once; RedisChannelLayer stores one message per server
    process, listing every member channel of that process (its private mapping, read here)."""
    from channels.layers import get_channel_layer
    from django.conf import settings

    from webapp.jobs.events import job_group

    layer = get_channel_layer(settings.LIVE_EVENTS_LAYER)
    group = job_group(job_id)
    message = {"type": "paralab.event", "group": group, "event": event}
    if not hasattr(layer, "_map_channel_keys_to_connection"):
        return len(layer.serialize(message))
    connection = layer.connection(layer.consistent_hash(group))
    names = [name.decode() for name in await connection.zrange(layer._group_key(group), 0, -1)]
    _, messages, _ = layer._map_channel_keys_to_connection(names, message)
    return sum(len(message) for message in messages.values())


def replay_in_worker_process(job_id: int, spans: list[dict]) -> Fanout:
    """Run the replay in a process of its own, as the worker is, so the subscribers' work in this
    one does not count as publish cost."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    process = context.Process(target=replay_as_worker, args=(job_id, spans, results))
    process.start()
    try:
        published, costs, cpu_costs, unwatched_costs, unwatched_cpu_costs = results.get(timeout=REPLAY_SECONDS + 60)
    finally:
        process.join(timeout=30)
    return Fanout(subscribers=0, published=published, costs=costs, cpu_costs=cpu_costs,
                  unwatched_costs=unwatched_costs, unwatched_cpu_costs=unwatched_cpu_costs)  # fmt: skip


def replay_as_worker(job_id: int, spans: list[dict], results: Any) -> None:
    """Feed ``spans`` (a real run's, times relative to its start) to the worker's ProgressSnapshot as
    the engine would, over REPLAY_SECONDS (the run again after its end), while the worker's Watcher
    saves and publishes them at its own cadence. Only instrumentation: a clock around publish_progress, and
    each tick's events published again, side by side, for a twin of the job that nobody watches."""

    import django

    django.setup()
    from kernels.progress import UnitSpan
    from webapp.jobs import execution
    from webapp.jobs.events import job_group, job_summary, publish, team_group
    from webapp.jobs.models import Job

    published = 0
    costs: list[float] = []
    cpu_costs: list[float] = []
    unwatched_costs: list[float] = []
    unwatched_cpu_costs: list[float] = []
    publish_progress = execution.publish_progress
    # The publisher's event loop thread (webapp/group_send.py) does the sending: started by a first publish
    # here, then its CPU clock is read beside the calling thread's. Only these two threads' CPU counts, not
    # this process's replay thread; the wall time on a shared machine also counts waiting for a CPU.
    publish(f"{job_group(job_id)}-warm-up", {"kind": "warm-up"})
    (publisher,) = [thread for thread in threading.enumerate() if thread.name == "paralab-publisher"]
    assert publisher.ident is not None
    publisher_clock = time.pthread_getcpuclockid(publisher.ident)

    def cpu_now() -> float:
        return time.thread_time() + time.clock_gettime(publisher_clock)

    def timed(send: Any, events: int, wall: list[float], cpu: list[float]) -> None:
        started, cpu_started = time.perf_counter(), cpu_now()
        send()
        if events:
            wall.append((time.perf_counter() - started) / events)
            cpu.append((cpu_now() - cpu_started) / events)

    def publish_unwatched(job: Job, deltas: list[dict[str, Any]], feed: bool) -> None:
        # What publish_progress sends, to groups of the same names but for "-unwatched": nobody listens.
        for delta in deltas:
            publish(f"{job_group(job.pk)}-unwatched", dict(delta))
        if feed and deltas:
            publish(f"{team_group(job.team_id)}-unwatched", job_summary(job))

    ticks = 0

    def timed_publish_progress(job: Job, deltas: list[dict[str, Any]], *, feed: bool) -> None:
        # The same events with nobody watching, measured in the same seconds as the watched ones (first on
        # every other tick): the side-by-side baseline of the publish cost.
        nonlocal published, ticks
        events = len(deltas) + (1 if feed and deltas else 0)
        runs = [
            (lambda: publish_progress(job, deltas, feed=feed), costs, cpu_costs),
            (lambda: publish_unwatched(job, deltas, feed), unwatched_costs, unwatched_cpu_costs),
        ]
        for send, wall, cpu in runs if ticks % 2 == 0 else runs[::-1]:
            timed(send, events, wall, cpu)
        ticks += 1
        published += len(deltas)

    execution.publish_progress = timed_publish_progress
    job = Job.objects.select_related("team", "submitted_by").get(pk=job_id)  # as job_execute loads it
    ordered = sorted(spans, key=lambda span: span["end"])
    length = ordered[-1]["end"]
    rounds = int(REPLAY_SECONDS // length) + 1
    timeline = [
        (round_ * length + span["end"], round_ * len(ordered) + unit, span)
        for round_ in range(rounds)
        for unit, span in enumerate(ordered)
        if round_ * length + span["end"] <= REPLAY_SECONDS
    ]
    snapshot, cancel = execution.ProgressSnapshot(), execution.threading.Event()
    watcher = execution.Watcher(job, snapshot, cancel)
    watcher.start()
    started = time.monotonic()
    for at, unit, span in timeline:
        wait = started + at - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        shift = at - span["end"]
        moved = UnitSpan(**{**span, "unit": unit, "start": span["start"] + shift, "end": at})
        snapshot.on_progress(unit + 1, len(timeline), span["worker"], at, moved)
    watcher.stopped.set()
    watcher.join()
    watcher.save_and_publish(heartbeat=False)  # what the worker's _finish does with the last tick's spans
    publish(job_group(job_id), {"kind": END})
    results.put((published, costs, cpu_costs, unwatched_costs, unwatched_cpu_costs))


class JobWrites:
    """Counts the UPDATEs of jobs_job rows with an SQLite trigger, so the worker's writes are seen
    from outside its process, exactly: every statement that touched the row, whatever its origin."""

    TABLE = "bench_job_writes"

    def install(self) -> None:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(f"CREATE TABLE {self.TABLE} (job_id INTEGER, progress INTEGER, log INTEGER, bytes INTEGER)")
            cursor.execute(
                f"CREATE TRIGGER {self.TABLE} AFTER UPDATE ON jobs_job BEGIN INSERT INTO {self.TABLE} VALUES ("
                "NEW.id, NEW.progress IS NOT OLD.progress, NEW.log IS NOT OLD.log,"
                " length(NEW.progress) + length(NEW.log)); END"
            )

    def drop(self) -> None:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(f"DROP TRIGGER {self.TABLE}")

    def count(self, job_id: int) -> dict[str, int]:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT count(*), sum(progress), sum(log), max(bytes) FROM {self.TABLE} WHERE job_id = %s", [job_id]
            )
            writes, progress, log, largest = cursor.fetchone()
        return {"writes": writes, "progress": progress or 0, "log": log or 0, "largest": largest or 0}


def running_job_for_fanout(*, username: str, spans: int) -> int:
    """A job row in the state a worker leaves it in when it starts a run (claimed, attempt 1, no spans)."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from webapp.jobs.models import Job, Status
    from webapp.teams.selectors import teams_for_user

    user = get_user_model().objects.get(username=username)
    now = timezone.now()
    job = Job.objects.create(
        team=teams_for_user(user).earliest("pk"),
        submitted_by=user,
        workload=BIG_JOB["workload"],
        params=BIG_JOB["params"],
        backend=BIG_JOB["backend"],
        implementation=BIG_JOB["implementation"],
        workers=BIG_JOB["workers"],
        status=Status.RUNNING,
        attempts=1,
        started_at=now,
        heartbeat_at=now,
        progress={"seq": 0, "done": 0, "total": spans, "spans_total": 0, "log_total": 0},
    )
    return job.pk
