"""Progress of a run: which worker ran which unit, when, and how many are done."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class UnitSpan:
    """One unit's execution; times are seconds since the run started."""

    unit: int
    worker: int
    start: float
    end: float
    # CPU seconds (user + system) the unit's thread used; None where a backend cannot tell. Below the
    # wall time (end − start) means the unit waited: on other programs, on I/O, on messages.
    cpu: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# on_progress(done_units, total_units, worker, elapsed, span): the engine contract (docs/architecture.md) + the span.
ProgressCallback = Callable[[int, int, int, float, UnitSpan], None]


LogCallback = Callable[[str], None]

# on_start(unit, worker, start): a unit began (seconds since the run started), so a live view can draw it growing.
StartCallback = Callable[[int, int, float], None]


class Reporter:
    """Collects unit spans and forwards each to ``on_progress``; safe to call from any thread."""

    def __init__(
        self,
        total: int,
        on_progress: ProgressCallback | None = None,
        on_log: LogCallback | None = None,
        on_start: StartCallback | None = None,
    ):
        self.total = total
        self.started_at = time.time()
        self.spans: list[UnitSpan] = []
        self.log_lines: list[str] = []
        self._on_progress = on_progress
        self._on_log = on_log
        self._on_start = on_start
        self._lock = threading.Lock()

    def now(self) -> float:
        return time.time() - self.started_at

    def unit_started(self, unit: int, worker: int, start: float) -> None:
        if self._on_start is not None:
            with self._lock:
                self._on_start(unit, worker, round(start, 6))

    def unit_done(self, unit: int, worker: int, start: float, end: float, cpu: float | None = None) -> None:
        span = UnitSpan(unit, worker, round(start, 6), round(end, 6), None if cpu is None else round(cpu, 6))
        with self._lock:
            self.spans.append(span)
            done = len(self.spans)
            if self._on_progress is not None:
                self._on_progress(done, self.total, worker, self.now(), span)

    def log(self, line: str) -> None:
        with self._lock:
            # Keep the tail only: a chatty worker must not fill memory.
            self.log_lines.append(line)
            if len(self.log_lines) > 2000:
                del self.log_lines[:1000]
            if self._on_log is not None:
                self._on_log(line)
