"""The heat stencil under MPI: each rank owns a slab of rows and swaps one halo row per neighbour per step.

With the native implementation the C stencil steps the slab; under the hybrid backend its OpenMP
threads share the slab's rows, and each thread reports as a lane of its own (rank × threads + thread).
"""

from __future__ import annotations

import numpy as np
from mpi4py import MPI

from kernels.mpi.common import RankReporter, read_spec, run_program
from kernels.workloads.base import load_native
from kernels.workloads.heat import ALPHA, initial_grid, report_steps, step, summary


def main() -> None:
    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    spec = read_spec()
    rows, cols, steps = (int(spec["params"][k]) for k in ("rows", "cols", "steps"))
    report = RankReporter(spec)
    report.log(f"rank {rank} of {size} on {MPI.Get_processor_name()}")

    # Interior rows 1..rows-2 are split; the global boundary rows stay fixed.
    bounds = np.linspace(1, rows - 1, size + 1).astype(int)
    lo, hi = int(bounds[rank]), int(bounds[rank + 1])
    full = initial_grid(rows, cols)
    slab = full[lo - 1 : hi + 1].copy()  # with one halo (or boundary) row each side
    out = slab.copy()
    up, down = (rank - 1 if rank > 0 else MPI.PROC_NULL), (rank + 1 if rank < size - 1 else MPI.PROC_NULL)

    threads = int(spec.get("threads", 1))
    native = load_native("heat") if spec["implementation"] == "native" else None
    cpu = np.zeros(threads)  # each thread's CPU seconds in the native stencil, so far
    reported = cpu.copy()
    marks = report_steps(steps)
    start, mark = report.since(), 0
    for n in range(1, steps + 1):
        if hi > lo:
            if native is None:
                step(slab, out)
            else:
                native.step(slab, out, ALPHA, threads, cpu)
            slab, out = out, slab
        # Send my first interior row up and receive my bottom halo from below, then the reverse.
        comm.Sendrecv(slab[1], dest=up, recvbuf=slab[-1] if down != MPI.PROC_NULL else np.empty(cols), source=down)
        comm.Sendrecv(slab[-2], dest=down, recvbuf=slab[0] if up != MPI.PROC_NULL else np.empty(cols), source=up)
        if mark < len(marks) and n == marks[mark]:
            end = report.since()
            for thread in range(threads):
                lane = rank * threads + thread
                used = float(cpu[thread] - reported[thread]) if native is not None else None
                report.unit(lane * len(marks) + mark, start, end, used, worker=lane)
            reported[:] = cpu
            start, mark = end, mark + 1

    report.close()
    pieces = comm.gather(slab[1:-1], root=0)
    if pieces is not None:  # rank 0
        grid = initial_grid(rows, cols)
        grid[1 : rows - 1] = np.vstack(pieces)
        report.result([summary(grid)])


if __name__ == "__main__":
    run_program(main)
