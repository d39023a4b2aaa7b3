"""MPI ranks × OpenMP threads: ``mpiexec -n R``, each rank running the workload's OpenMP kernel with T threads.

``workers`` counts cores, R × T, as on every other backend, so a study's worker axis compares equal
core counts. T (option ``threads``, the CLI's ``--threads``) defaults to the classic layout: as few
ranks as possible, each filling up to one host's cores (the largest divisor of W that fits), counted
where the engine runs, which starts the ranks: the worker's host, or the node Slurm gave the job.
The layout that ran (ranks, T, the cores counted and the host) is in the run's result.
Lane ``rank × T + thread`` in the spans is one OpenMP thread of one rank.
"""

from __future__ import annotations

import socket
from typing import Any

from kernels.backends.base import RunSpec
from kernels.backends.mpi import MpiBackend
from kernels.cores import usable_cores
from kernels.errors import UnsupportedCombination


def threads_per_rank(workers: int, threads: Any = None, cores: int | None = None) -> int:
    """T for W = R × T workers: ``threads`` if it divides W, else the largest divisor of W up to ``cores``."""
    if threads is None:
        fits = max(1, min(workers, cores or usable_cores()))
        return max(t for t in range(1, fits + 1) if workers % t == 0)
    if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= workers:
        raise UnsupportedCombination(
            "threads", f"must be an integer between 1 and workers ({workers}), got {threads!r}"
        )
    if workers % threads:
        raise UnsupportedCombination(
            "threads",
            f"must divide workers: {workers} workers = ranks × threads, and {threads} does not divide {workers}",
        )
    return threads


def ranks_text(ranks: int, threads: int) -> str:
    return f"{ranks} MPI rank{'s' * (ranks > 1)} × {threads} OpenMP thread{'s' * (threads > 1)}"


def layout_text(workers: int, threads: int | None, layout: dict[str, Any] | None = None) -> str:
    """A hybrid job's ranks × threads in words: what ran (its ``layout``), else what was asked, else the rule."""
    if layout:
        cores = layout["cores"]
        chosen = "as asked" if layout.get("chosen") == "asked" else f"the default for {cores} core{'s' * (cores > 1)}"
        return f"{ranks_text(layout['ranks'], layout['threads'])} ({chosen} on {layout['host']})"
    if threads:
        return f"{ranks_text(workers // threads, threads)} (as asked)"
    return "the default: as few ranks as possible, each filling up to the cores of the host that runs them"


class HybridBackend(MpiBackend):
    name = "hybrid"

    def layout(self, spec: RunSpec) -> tuple[int, dict[str, Any]]:
        asked, cores = spec.options.get("threads"), usable_cores()
        threads = threads_per_rank(spec.workers, asked, cores)
        ranks = spec.workers // threads
        spec.layout.update(ranks=ranks, threads=threads, chosen="default" if asked is None else "asked", cores=cores,
                           host=socket.gethostname())  # fmt: skip
        spec.reporter.log(f"hybrid: {ranks_text(ranks, threads)}")
        return ranks, {"threads": threads}


BACKEND = HybridBackend()
