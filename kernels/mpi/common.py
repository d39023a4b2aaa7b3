"""What the MPI programs share: the run spec, and a reporter that funnels every rank's output through rank 0.

mpiexec merges the ranks' stdout in chunks, not lines, so lines from two ranks can be spliced
together. Only rank 0 prints: other ranks send their log lines and unit events to it.
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from mpi4py import MPI

from kernels import wire

TAG = 77
HELLO_TAG = 78
IDLE = 0.005  # rank 0's listener sleeps this long between probes, so it does not steal a core


def run_program(main: Callable[[], None]) -> None:
    """Connect every rank, then run one rank's ``main``; if it raises, print why and abort every rank.

    Without this a rank that dies leaves the others (rank 0 above all, waiting for its reports or a
    gather) blocked until the job's time limit, and the real error is lost.
    """
    try:
        connect_all(MPI.COMM_WORLD)
        main()
    except BaseException:
        traceback.print_exc()
        sys.stderr.flush()
        MPI.COMM_WORLD.Abort(1)


def connect_all(comm: MPI.Comm) -> None:
    """Exchange one message between every pair of ranks, then tell the backend that all are up.

    MPI connects ranks lazily, pair by pair: two hosts that cannot reach each other (a firewall
    dropping traffic, a container refusing cross-memory attach) otherwise hang the run wherever
    they first talk. Done first, that hang falls under the backend's startup limit
    (``wire`` event "ready", which rank 0 prints once every rank has passed the barrier).
    """
    rank, size = comm.Get_rank(), comm.Get_size()
    peers = [peer for peer in range(size) if peer != rank]
    sends = [comm.isend(rank, dest=peer, tag=HELLO_TAG) for peer in peers]
    for peer in peers:
        comm.recv(source=peer, tag=HELLO_TAG)
    MPI.Request.waitall(sends)
    comm.Barrier()
    if rank == 0:
        sys.stdout.write(wire.event_line("ready", ranks=size) + "\n")
        sys.stdout.flush()


def read_spec() -> dict[str, Any]:
    return wire.loads(sys.argv[1])


def lpt_assign(costs: list[float], workers: int) -> list[int]:
    """Worker of each unit by longest-processing-time-first: each unit goes to the least loaded."""
    loads = [0.0] * workers
    owner = [0] * len(costs)
    for index in sorted(range(len(costs)), key=lambda i: -costs[i]):
        worker = min(range(workers), key=loads.__getitem__)
        owner[index] = worker
        loads[worker] += costs[index]
    return owner


class RankReporter:
    """``log`` and ``unit`` from any rank end up as lines on rank 0's stdout; ``close`` on every rank."""

    def __init__(self, spec: dict[str, Any]):
        self.comm = MPI.COMM_WORLD.Dup()
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self.started_at = spec["started_at"]
        self._lock = threading.Lock()
        self._listener: threading.Thread | None = None
        if self.rank == 0 and self.size > 1:
            self._listener = threading.Thread(target=self._listen, daemon=True)
            self._listener.start()

    def since(self) -> float:
        return time.time() - self.started_at

    def log(self, text: str) -> None:
        self._send(text)

    def unit_start(self, unit: int, start: float, worker: int | None = None) -> None:
        """``worker`` is the lane: this rank unless the rank has several (hybrid: one per OpenMP thread)."""
        lane = self.rank if worker is None else worker
        self._send(wire.event_line("start", unit=unit, worker=lane, start=start))

    def unit(self, unit: int, start: float, end: float, cpu: float | None = None, worker: int | None = None) -> None:
        lane = self.rank if worker is None else worker
        self._send(wire.event_line("unit", unit=unit, worker=lane, start=start, end=end, cpu=cpu))

    def result(self, results: list[Any]) -> None:
        """Rank 0 only, after close(): the line the backend waits for."""
        self._print(wire.event_line("result", results=results))

    def close(self) -> None:
        if self.rank != 0:
            self.comm.send(None, dest=0, tag=TAG)
        elif self._listener is not None:
            self._listener.join()

    def _send(self, line: str) -> None:
        if self.rank == 0:
            self._print(line)
        else:
            self.comm.send(line, dest=0, tag=TAG)

    def _print(self, line: str) -> None:
        with self._lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    def _listen(self) -> None:
        open_ranks = self.size - 1
        while open_ranks:
            if not self.comm.iprobe(source=MPI.ANY_SOURCE, tag=TAG):
                time.sleep(IDLE)
                continue
            line = self.comm.recv(source=MPI.ANY_SOURCE, tag=TAG)
            if line is None:
                open_ranks -= 1
            else:
                self._print(line)
