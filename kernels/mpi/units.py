"""Any unit-based workload under MPI: units are dealt to ranks (longest first), results gathered on rank 0.

Under the hybrid backend each rank runs its units with the workload's OpenMP kernel instead.
"""

from __future__ import annotations

import time
from typing import Any

from mpi4py import MPI

from kernels.backends.openmp import drive, new_board
from kernels.mpi.common import RankReporter, lpt_assign, read_spec, run_program
from kernels.registry import get_workload
from kernels.workloads.base import Workload


def run_threads(
    workload: Workload, params: dict[str, Any], units: list[Any], order: list[int], threads: int, report: RankReporter
) -> dict[int, Any]:
    """This rank's units by the workload's OpenMP kernel; each thread is a lane of its own (rank × threads + thread)."""
    board, flag = new_board(len(order))
    first = report.rank * threads
    results = drive(
        lambda: workload.run_openmp(params, [units[i] for i in order], threads, board, flag),
        board,
        started_at=report.started_at,
        on_start=lambda k, thread, start: report.unit_start(order[k], start, worker=first + thread),
        on_done=lambda k, thread, start, end, cpu: report.unit(order[k], start, end, cpu, worker=first + thread),
    )
    return dict(zip(order, results, strict=True))


def main() -> None:
    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    spec = read_spec()
    report = RankReporter(spec)
    workload = get_workload(spec["workload"])
    # The engine's own cleaned params (kernels/backends/mpi.py writes RunSpec.params, from a CheckedRequest):
    # every rank checking them again would repeat the one check, W times over.
    params = spec["params"]
    units = workload.split(params, size)
    owner = lpt_assign([workload.cost(u) for u in units], size)
    report.log(f"rank {rank} of {size} on {MPI.Get_processor_name()}")

    order = sorted((i for i in range(len(units)) if owner[i] == rank), key=lambda i: -workload.cost(units[i]))
    if "threads" in spec:  # the hybrid backend
        mine = run_threads(workload, params, units, order, int(spec["threads"]), report)
    else:
        mine = {}
        for index in order:
            start, cpu = report.since(), time.thread_time()
            report.unit_start(index, start)
            mine[index] = workload.execute(spec["implementation"], units[index])
            report.unit(index, start, report.since(), time.thread_time() - cpu)

    report.close()
    gathered = comm.gather(mine, root=0)
    if gathered is not None:  # rank 0
        merged = {i: r for part in gathered for i, r in part.items()}
        report.result([merged[i] for i in range(len(units))])


if __name__ == "__main__":
    run_program(main)
