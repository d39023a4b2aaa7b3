"""The seed's MPI ring: the message rank 0 gets back is built independently from the rank count and laps."""

from __future__ import annotations

from kernels.engine import RunRequest, check_request, run
from kernels.workloads.mpi_ring import WORKLOAD


def test_a_three_rank_ring_of_two_laps_verifies():
    result = run(check_request(RunRequest("mpi_ring", {"laps": 2}, "mpi", "python", 3)))
    assert result.value["message"] == "P0P1P2P0P1P2"
    assert (result.verified, result.verification) == (
        True,
        "rank 0 received 'P0P1P2P0P1P2': 2 lap(s) of 3 ranks, each in order",
    )


def test_a_rank_out_of_order_fails_verification():
    value = {"message": "P0P2P1", "hosts": ["a", "a", "a"]}
    verdict = WORKLOAD.verify({"laps": 1}, value, [value])
    assert (verdict.ok, verdict.detail) == (
        False,
        "verification failed: rank 0 received 'P0P2P1', expected 'P0P1P2'",
    )
