"""Any unit-based workload under MPI: units are dealt to ranks (longest first), results gathered on rank 0."""

from __future__ import annotations

from mpi4py import MPI

from kernels.mpi.common import RankReporter, lpt_assign, read_spec, run_program
from kernels.registry import get_workload


def main() -> None:
    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    spec = read_spec()
    report = RankReporter(spec)
    workload = get_workload(spec["workload"])
    params = workload.validate(spec["params"])
    units = workload.split(params, size)
    owner = lpt_assign([workload.cost(u) for u in units], size)
    report.log(f"rank {rank} of {size} on {MPI.Get_processor_name()}")

    mine = {}
    for index in sorted((i for i in range(len(units)) if owner[i] == rank), key=lambda i: -workload.cost(units[i])):
        start = report.since()
        mine[index] = workload.execute(spec["implementation"], units[index])
        report.unit(index, start, report.since())

    report.close()
    gathered = comm.gather(mine, root=0)
    if gathered is not None:  # rank 0
        merged = {i: r for part in gathered for i, r in part.items()}
        report.result([merged[i] for i in range(len(units))])


if __name__ == "__main__":
    run_program(main)
