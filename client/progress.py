"""The one progress bar of both commands: ``[#####-----] 3/6 units  running  1.2 s`` on stderr, redrawn in place."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

from kernels.progress import UnitSpan

BAR_WIDTH = 30
BAR_INTERVAL = 0.1  # seconds between redraws, so thousands of tiny units do not flood the terminal


class ProgressBar:
    """``done/total NOUN``, an optional note (what the server says is happening) and the seconds since it began.

    Safe to call from any thread: the engine reports units from its workers' threads. A ``total`` of None
    is not known yet (a queued remote job) and draws ``-/-``.
    """

    def __init__(self, noun: str = "units", enabled: bool = True, stream: TextIO | None = None):
        self.noun = noun
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.started = time.perf_counter()
        self._drawn_at = 0.0
        self._width = 0  # the widest line drawn, so a shorter one covers it
        self._open = False
        self._lock = threading.Lock()

    def on_progress(self, done: int, total: int, worker: int, elapsed: float, span: UnitSpan) -> None:
        """The engine's on_progress callback (kernels.progress.ProgressCallback)."""
        self.update(done, total)

    def update(self, done: int, total: int | None, note: str = "") -> None:
        if not self.enabled:
            return
        with self._lock:
            now = time.perf_counter()
            if total is not None and done < total and now - self._drawn_at < BAR_INTERVAL and self._open:
                return
            self._drawn_at = now
            if total is None:
                filled, counts = 0, f"-/- {self.noun}"
            else:
                filled, counts = BAR_WIDTH * done // total if total else BAR_WIDTH, f"{done}/{total} {self.noun}"
            bar = "#" * filled + "-" * (BAR_WIDTH - filled)
            line = "  ".join([f"[{bar}] {counts}", *([note] if note else []), f"{now - self.started:.1f} s"])
            self._width = max(self._width, len(line))
            self.stream.write("\r" + line.ljust(self._width))
            self.stream.flush()
            self._open = True

    def close(self) -> None:
        with self._lock:
            if self._open:
                self.stream.write("\n")
                self.stream.flush()
                self._open = False
