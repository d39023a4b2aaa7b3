"""W worker processes (multiprocessing), longest units first.

ProcessPoolExecutor rather than multiprocessing.Pool: when a child dies, a Pool waits forever,
while the executor raises BrokenProcessPool (docs/architecture.md, working recipes).
"""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from kernels.backends.base import POLL, Backend, RunSpec, kill_process_tree, timed
from kernels.errors import WorkerFailed
from kernels.registry import get_workload

# Set in each pool process (fork): where it says "unit i started", so the parent can show it running.
_starts: Any = None


def _remember_starts(queue: Any) -> None:
    global _starts
    _starts = queue


def _run_unit(
    workload: str, implementation: str, index: int, unit: Any, started_at: float
) -> tuple[Any, float, float, float, int]:
    _starts.put((index, os.getpid(), time.time() - started_at))
    return (*timed(get_workload(workload), implementation, unit, started_at), os.getpid())


class ProcessesBackend(Backend):
    name = "processes"

    def run(self, spec: RunSpec) -> list[Any]:
        # fork: children inherit the imported engine, so they start in milliseconds.
        context = multiprocessing.get_context("fork")
        starts = context.SimpleQueue()
        pool = ProcessPoolExecutor(
            max_workers=spec.workers, mp_context=context, initializer=_remember_starts, initargs=(starts,)
        )
        results: list[Any] = [None] * len(spec.units)
        workers: dict[int, int] = {}
        finished = False
        try:
            pending = {
                pool.submit(
                    _run_unit, spec.workload.name, spec.implementation, i, spec.units[i], spec.reporter.started_at
                ): i
                for i in spec.longest_first()
            }
            while pending:
                spec.check_cancel()
                done, _ = wait(pending, timeout=POLL, return_when=FIRST_COMPLETED)
                while not starts.empty():
                    index, pid, start = starts.get()
                    spec.reporter.unit_started(index, workers.setdefault(pid, len(workers)), start)
                for future in done:
                    index = pending.pop(future)
                    try:
                        results[index], start, end, cpu, pid = future.result()
                    except BrokenProcessPool as exc:
                        raise WorkerFailed(f"a worker process died: {exc}") from exc
                    worker = workers.setdefault(pid, len(workers))
                    spec.reporter.unit_done(index, worker, start, end, cpu)
            finished = True
        finally:
            if not finished:
                # Cancelled, timed out or failed: kill the children rather than wait for them. Kill and
                # reap them through the pool's own Process objects: a child reaped by anyone else
                # (psutil's wait) looks alive to the executor forever, and its shutdown thread spins.
                children = list((getattr(pool, "_processes", None) or {}).values())
                for child in children:
                    kill_process_tree(child.pid, include_root=False)
                    child.kill()
                for child in children:
                    child.join(timeout=2)
                pool.shutdown(wait=False, cancel_futures=True)
            else:
                pool.shutdown(wait=True)
        return results


BACKEND = ProcessesBackend()
