"""The seed's PyPar ring in mpi4py: rank 0 sends "P0", each rank appends "P<rank>"."""

from __future__ import annotations

from typing import Any

from kernels.params import Param
from kernels.workloads.base import Outcome, Verdict, Workload, failed


class MpiRing(Workload[int]):  # one unit: the laps
    name = "mpi_ring"
    title = "MPI ring (the seed's PyPar example)"
    description = "A message travels once around the ranks; each rank appends its name and reports its host."
    params = (Param("laps", "int", 1, 1, 1000, "times the message goes round the ring"),)
    backends = ("mpi",)
    implementations = ("python",)
    mpi_program = "kernels.mpi.ring"

    def split(self, params: dict[str, Any], workers: int) -> list[int]:
        return [params["laps"]]

    def total_units(self, params: dict[str, Any], workers: int, backend: str) -> int:
        return workers  # each rank reports once

    def unit_labels(self, params: dict[str, Any], workers: int, backend: str) -> list[str]:
        return [f"rank {rank}'s part of the ring" for rank in range(workers)]

    def combine(self, params: dict[str, Any], results: list[Any]) -> Outcome:
        return Outcome(results[0])

    def verify(self, params: dict[str, Any], value: Any, results: list[Any]) -> Verdict:
        # Built from the rank count, not from the program: "P0", then every rank's name in ring order, per lap.
        ranks, laps = len(value["hosts"]), params["laps"]
        lap = "".join(f"P{rank}" for rank in range(ranks))
        expected = "P0" + lap[2:] + lap * (laps - 1)
        if value["message"] == expected:
            return Verdict(True, f"rank 0 received {expected[:40]!r}: {laps} lap(s) of {ranks} ranks, each in order")
        return failed(f"rank 0 received {value['message'][:40]!r}, expected {expected[:40]!r}")


WORKLOAD = MpiRing()
