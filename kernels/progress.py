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

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# on_progress(done_units, total_units, worker, elapsed, span): DESIGN.md's contract, plus the unit's span.
ProgressCallback = Callable[[int, int, int, float, UnitSpan], None]


LogCallback = Callable[[str], None]


class Reporter:
    """Collects unit spans and forwards each to ``on_progress``; safe to call from any thread."""

    def __init__(self, total: int, on_progress: ProgressCallback | None = None, on_log: LogCallback | None = None):
        self.total = total
        self.started_at = time.time()
        self.spans: list[UnitSpan] = []
        self.log_lines: list[str] = []
        self._on_progress = on_progress
        self._on_log = on_log
        self._lock = threading.Lock()

    def now(self) -> float:
        return time.time() - self.started_at

    def unit_done(self, unit: int, worker: int, start: float, end: float) -> None:
        span = UnitSpan(unit, worker, round(start, 6), round(end, 6))
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
