"""A pool of W threads in this process.

With the python implementation the GIL lets one thread run at a time (about 1×, and we show
it); native units release the GIL, so they run truly in parallel.
"""

from __future__ import annotations

import threading
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Any

from kernels.backends.base import POLL, Backend, RunSpec, timed


class ThreadsBackend(Backend):
    name = "threads"

    def run(self, spec: RunSpec) -> list[Any]:
        local = threading.local()
        counter = iter(range(spec.workers))
        lock = threading.Lock()

        def work(index: int) -> tuple[Any, float, float, float, int]:
            if not hasattr(local, "worker"):
                with lock:
                    local.worker = next(counter)
            spec.reporter.unit_started(index, local.worker, spec.reporter.now())
            return (
                *timed(spec.workload, spec.implementation, spec.units[index], spec.reporter.started_at),
                local.worker,
            )

        results: list[Any] = [None] * len(spec.units)
        with ThreadPoolExecutor(max_workers=spec.workers, thread_name_prefix="paralab") as pool:
            pending = {pool.submit(work, i): i for i in spec.longest_first()}
            try:
                while pending:
                    spec.check_cancel()
                    done, _ = wait(pending, timeout=POLL, return_when=FIRST_COMPLETED)
                    for future in done:
                        index = pending.pop(future)
                        results[index], start, end, cpu, worker = future.result()
                        spec.reporter.unit_done(index, worker, start, end, cpu)
            finally:
                # A running thread cannot be killed; queued units at least never start.
                for future in pending:
                    future.cancel()
        return results


BACKEND = ThreadsBackend()
