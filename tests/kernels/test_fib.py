"""The seed's Fibonacci example: naive fib over a list, checked against the closed form."""

from __future__ import annotations

from kernels.engine import RunRequest, run
from kernels.workloads.fib import SEED_NS, WORKLOAD, fib, fib_closed

# The seed's printed output for Pool.map(fib, [38, 37, 36, 35, 34, 33]).
SEED_OUTPUT = [39088169, 24157817, 14930352, 9227465, 5702887, 3524578]


def test_the_seed_list_is_the_default():
    assert SEED_NS == [38, 37, 36, 35, 34, 33]
    assert WORKLOAD.validate({}) == {"ns": SEED_NS}


def test_closed_form_matches_the_seed_output():
    assert [fib_closed(n) for n in SEED_NS] == SEED_OUTPUT


def test_naive_fib_counts_from_one_one():
    # F(1) = F(2) = 1, F(10) = 55 (OEIS A000045).
    assert [fib(n) for n in range(1, 11)] == [1, 1, 2, 3, 5, 8, 13, 21, 34, 55]


def test_one_unit_per_n_in_order():
    result = run(RunRequest("fib", {"ns": "12,1,30"}))
    assert result.value == [144, 1, 832040]
    assert [s["unit"] for s in result.spans] == [0, 1, 2]


def test_verification_catches_a_wrong_list():
    params = {"ns": [10, 11]}
    assert WORKLOAD.verify(params, [55, 89], [55, 89]).ok is True
    verdict = WORKLOAD.verify(params, [55, 90], [55, 90])
    assert (verdict.ok, verdict.detail) == (False, "expected [55, 89]")
