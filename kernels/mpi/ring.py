"""The seed's PyPar ring: rank 0 sends "P0", each rank appends "P<rank>" and passes it on."""

from __future__ import annotations

from mpi4py import MPI

from kernels.mpi.common import RankReporter, read_spec, run_program


def main() -> None:
    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    node = MPI.Get_processor_name()
    spec = read_spec()
    report = RankReporter(spec)
    laps = int(spec["params"].get("laps", 1))
    report.log(f"I am rank {rank} of {size} on node {node}")
    start = report.since()
    nxt, prev = (rank + 1) % size, (rank - 1) % size

    msg = ""
    for _ in range(laps):
        if rank == 0:
            msg = msg + "P0"
            if size > 1:
                comm.send(msg, dest=nxt)
                msg = comm.recv(source=prev)
                report.log(f'Processor 0 received message "{msg}" from rank {prev}')
        else:
            msg = comm.recv(source=prev)
            msg = msg + f"P{rank}"
            comm.send(msg, dest=nxt)
    report.unit(rank, start, report.since())
    report.close()

    hosts = comm.gather(node, root=0)
    if rank == 0:
        report.result([{"message": msg, "hosts": hosts, "ranks": size}])


if __name__ == "__main__":
    run_program(main)
