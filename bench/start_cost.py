"""Start cost (issue 13) for `make bench-live`: claimed → first unit running, per backend, cold engine vs warm.

The same small job (fib [1]×6, 2 workers: its units take microseconds, so what is timed is the start) goes
through the API to the stack's one worker twice per backend and round: once with the worker's warm engine
ready (started after the last run, its imports done: a worker between jobs), once with that engine killed
first, so the run starts a cold one as every run did before warm engines. The worker times claim → first
unit running itself (the job's ``measurement.start_cost``, webapp/jobs/execution.py), so no polling is in
the figure. Cold and warm alternate, their order swapped each round, so both see the same machine.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import psutil

from kernels.isolated import WARM_NAME

BACKENDS = ("processes", "subprocesses", "mpi")
MODES = ("cold", "warm")
ROUNDS = 10
JOB = {"workload": "fib", "params": {"ns": [1] * 6}, "workers": 2}
TARGETS_MS = {"processes": 50.0, "subprocesses": 150.0}  # warm p50 (issue 13); MPI: as low as mpiexec allows

Samples = dict[str, dict[str, list[float]]]  # backend → mode → seconds


def warm_engine(worker_pid: int, timeout: float = 30.0) -> psutil.Process:
    """The worker's warm engine once it waits on its stdin with everything imported (its CPU time stands still)."""
    deadline = time.monotonic() + timeout
    last: tuple[int, float] | None = None
    while time.monotonic() < deadline:
        for child in psutil.Process(worker_pid).children():
            try:
                if child.name() == WARM_NAME and child.status() != psutil.STATUS_ZOMBIE:
                    cpu = sum(child.cpu_times()[:2])
                    if last == (child.pid, cpu):
                        return child
                    last = (child.pid, cpu)
            except psutil.NoSuchProcess:
                pass
        time.sleep(0.1)
    raise RuntimeError(f"the worker (pid {worker_pid}) had no idle warm engine within {timeout:g} s")


def kill(engine: psutil.Process) -> None:
    """Kill it and wait until it is dead: a zombie until the worker notices, at its next run (which starts cold)."""
    engine.kill()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            if engine.status() == psutil.STATUS_ZOMBIE:
                return
        except psutil.NoSuchProcess:
            return
        time.sleep(0.01)
    raise RuntimeError(f"the warm engine (pid {engine.pid}) outlived SIGKILL")


def measure(worker_pid: int, submit: Callable[[dict[str, Any]], dict[str, Any]], rounds: int = ROUNDS) -> Samples:
    """``submit`` posts a job and returns it in its final state."""
    samples: Samples = {backend: {mode: [] for mode in MODES} for backend in BACKENDS}
    for round_ in range(rounds):
        for backend in BACKENDS:
            for mode in MODES if round_ % 2 == 0 else reversed(MODES):
                engine = warm_engine(worker_pid)  # for a cold run too: no warm engine importing beside it
                if mode == "cold":
                    kill(engine)
                job = submit({**JOB, "backend": backend})
                if job["status"] != "succeeded":
                    raise RuntimeError(f"start-cost job #{job['id']} ({backend}) {job['status']}: {job.get('error')}")
                samples[backend][mode].append(job["measurement"]["start_cost"])
    return samples


def summary(samples: Samples) -> list[dict[str, Any]]:
    rows = []
    for backend, modes in samples.items():
        row: dict[str, Any] = {"backend": backend, "samples": len(modes["warm"])}
        for mode, values in modes.items():
            row[f"{mode}_p50_ms"] = statistics.median(values) * 1000
            row[f"{mode}_p90_ms"] = statistics.quantiles(values, n=10, method="inclusive")[-1] * 1000
        row["cold_vs_warm"] = row["cold_p50_ms"] / row["warm_p50_ms"]
        target = TARGETS_MS.get(backend)
        row["target"] = f"≤ {target:g} ms" if target else "-"
        row["verdict"] = ("PASS" if row["warm_p50_ms"] <= target else "MISS") if target else "-"
        rows.append(row)
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    print(
        f"\nStart cost: claimed → first unit running (fib [1]×6, 2 workers; {rows[0]['samples']} of each, "
        "cold and warm engine alternating on one worker)\n"
        f"{'backend':13} {'cold p50':>9} {'p90':>7} {'warm p50':>9} {'p90':>7} {'cold ÷ warm':>12}  "
        f"{'target (warm p50)':17} verdict"
    )
    for row in rows:
        print(
            f"{row['backend']:13} {row['cold_p50_ms']:>6.0f} ms {row['cold_p90_ms']:>4.0f} ms "
            f"{row['warm_p50_ms']:>6.0f} ms {row['warm_p90_ms']:>4.0f} ms {row['cold_vs_warm']:>11.2f}×  "
            f"{row['target']:17} {row['verdict']}"
        )
