"""W OpenMP threads in this process: one native call (GIL released) runs every unit, this thread reports.

The workload's kernel (``Workload.run_openmp``) shares the work out with its own schedule and marks
each event on a board (kernels/native/board.pxd) as it starts and ends; the calling thread reads
the board and reports, so the live page moves while the threads never touch Python. A cancel sets
the kernel's flag: no new unit (or step) starts, and the run ends once the running ones finish.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kernels.backends.base import POLL, Backend, KeptThread, RunSpec
from kernels.errors import WorkerFailed

# The board's columns (kernels/native/board.pxd).
START, END, CPU, WORKER, STATE = range(5)
STARTED, DONE = 1, 2


def new_board(events: int) -> tuple[Any, Any]:
    """A zeroed board with one row per event, and the cancel flag the kernel polls."""
    import numpy as np

    return np.zeros((events, 5)), np.zeros(1, dtype=np.int32)


def drive(
    call: Callable[[], list[Any]],
    board: Any,
    *,
    started_at: float,
    on_start: Callable[[int, int, float], None] | None,
    on_done: Callable[[int, int, float, float, float], None],
    cancel: Callable[[], bool] = lambda: False,
    flag: Any = None,
) -> list[Any]:
    """Run ``call`` (a native OpenMP kernel) in a thread; until it returns, report the board's news.

    ``on_start(event, thread, start)`` and ``on_done(event, thread, start, end, cpu)`` get times in
    seconds since ``started_at``, each event once, in board order. Once ``cancel()`` is true,
    ``flag[0]`` is set and the kernel winds down; the caller decides what a cancel means.
    """
    worker = KeptThread(call, name="paralab-openmp")  # its error is raised in this thread, below
    worker.start()
    announced, finished = set(), set()

    def report() -> None:
        # STATE first: a kernel writes it last, so the fields read after it are complete.
        states = board[:, STATE].copy()
        for event in (states >= STARTED).nonzero()[0]:
            if on_start is not None and event not in announced:
                announced.add(event)
                on_start(int(event), int(board[event, WORKER]), board[event, START] - started_at)
        for event in (states == DONE).nonzero()[0]:
            if event not in finished:
                finished.add(event)
                start, end, cpu, thread = board[event, START:STATE]
                on_done(int(event), int(thread), start - started_at, end - started_at, float(cpu))

    while worker.is_alive():
        if flag is not None and cancel():
            flag[0] = 1
        worker.join(POLL)
        report()
    report()  # what the last stretch marked, and everything if the kernel ended before the first look
    worker.check()
    result: list[Any] = worker.result
    return result


class OpenMPBackend(Backend):
    name = "openmp"

    def run(self, spec: RunSpec) -> list[Any]:
        board, flag = new_board(spec.reporter.total)
        results = drive(
            lambda: spec.workload.run_openmp(spec.params, spec.units, spec.workers, board, flag),
            board,
            started_at=spec.reporter.started_at,
            on_start=spec.reporter.unit_started,
            on_done=spec.reporter.unit_done,
            cancel=spec.cancel.is_set,
            flag=flag,
        )
        spec.check_cancel()
        missing = int((board[:, STATE] != DONE).sum())
        if missing:
            raise WorkerFailed(f"the OpenMP kernel returned with {missing} of {len(board)} events never done")
        return results


BACKEND = OpenMPBackend()
