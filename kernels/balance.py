"""Load-imbalance diagnosis of one run, from its unit spans: who worked, who waited, and what to change.

Busy time per worker is the sum of its units' wall times; the run's span is first start to last
end. The imbalance factor is max/mean busy time (1.0 is perfect; 2.0 means the busiest worker did
twice the average, so the others idled about half the run). The idle tail is the time between the
first worker running out of work and the last unit ending; the critical unit is the one that ended
last (the run could not finish before it).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

# Below this the imbalance is not worth a hint: measurement noise and one unit's jitter.
HINT_AT = 1.1


@dataclass(frozen=True)
class WorkerLoad:
    worker: int
    units: int
    busy: float  # seconds
    idle: float  # seconds of the run's span this worker had no unit
    idle_share: float


@dataclass(frozen=True)
class Balance:
    span: float  # seconds from the first unit's start to the last unit's end
    workers: list[WorkerLoad]
    imbalance: float  # max busy / mean busy
    idle_tail: float  # seconds between the first worker finishing and the last unit ending
    critical_unit: int
    critical_worker: int
    critical_seconds: float
    hint: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def worker_label(backend: str) -> str:
    """What one worker is called on this backend: MPI's workers are ranks, OpenMP's threads (hybrid's
    lanes are a rank's threads, numbered rank × threads + thread: "worker" says no more than that)."""
    return {"mpi": "rank", "openmp": "thread"}.get(backend, "worker")


def diagnose(spans: list[dict[str, Any]], *, workers: int, worker_label: str = "worker") -> Balance | None:
    """The diagnosis of a run with ``workers`` workers; None without spans or with one worker."""
    if not spans or workers < 2:
        return None
    start = min(s["start"] for s in spans)
    end = max(s["end"] for s in spans)
    span = max(end - start, 1e-9)
    busy: dict[int, float] = {w: 0.0 for w in range(workers)}
    units: dict[int, int] = {w: 0 for w in range(workers)}
    last_end: dict[int, float] = {w: start for w in range(workers)}
    for s in spans:
        w = int(s["worker"])
        busy[w] = busy.get(w, 0.0) + (s["end"] - s["start"])
        units[w] = units.get(w, 0) + 1
        last_end[w] = max(last_end.get(w, start), s["end"])
    loads = [
        WorkerLoad(
            w, units[w], round(busy[w], 6), round(max(0.0, span - busy[w]), 6), round(max(0.0, 1 - busy[w] / span), 4)
        )
        for w in sorted(busy)
    ]
    mean = sum(busy.values()) / len(busy)
    imbalance = round(max(busy.values()) / mean, 3) if mean > 0 else 1.0
    critical = max(spans, key=lambda s: (s["end"], s["unit"]))
    idle_tail = round(end - min(last_end.values()), 6)
    return Balance(
        span=round(span, 6),
        workers=loads,
        imbalance=imbalance,
        idle_tail=idle_tail,
        critical_unit=int(critical["unit"]),
        critical_worker=int(critical["worker"]),
        critical_seconds=round(critical["end"] - critical["start"], 6),
        hint=_hint(loads, imbalance, critical, span, worker_label),
    )


def _hint(loads: list[WorkerLoad], imbalance: float, critical: dict[str, Any], span: float, label: str) -> str:
    if imbalance < HINT_AT:
        return f"balanced: every {label} was busy for about the same time (max/mean {imbalance:.2f})"
    idlest = max(loads, key=lambda load: load.idle_share)
    critical_share = (critical["end"] - critical["start"]) / span
    advice = (
        f"unit {critical['unit']} alone took {critical_share:.0%} of the run: split it into smaller units"
        if critical_share > 0.5
        else "longest-first ordering or smaller units would help"
    )
    return f"{label} {idlest.worker} idle {idlest.idle_share:.0%} of the run: {advice}"
