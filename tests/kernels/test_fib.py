"""The seed's Fibonacci example: naive fib over a list, checked against exact fast doubling."""

from __future__ import annotations

import pytest

from kernels.engine import RunRequest, check_request, run
from kernels.workloads.fib import SEED_NS, WORKLOAD, fib, fib_exact

# The seed's printed output for Pool.map(fib, [38, 37, 36, 35, 34, 33]).
SEED_OUTPUT = [39088169, 24157817, 14930352, 9227465, 5702887, 3524578]


def test_the_seed_list_is_the_default():
    assert SEED_NS == [38, 37, 36, 35, 34, 33]
    assert WORKLOAD.validate({}) == {"ns": SEED_NS}


def test_the_reference_matches_the_seed_output_and_published_values():
    assert [fib_exact(n) for n in SEED_NS] == SEED_OUTPUT
    # OEIS A000045: F(40) = 102334155, F(100) = 354224848179261915075 (beyond any float's exact range).
    assert (fib_exact(40), fib_exact(100)) == (102_334_155, 354_224_848_179_261_915_075)
    assert [fib_exact(n) for n in range(11)] == [0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55]


COMBINATIONS = [(b, i) for b in WORKLOAD.backends for i in WORKLOAD.implementations if WORKLOAD.supports(b, i)]


@pytest.mark.parametrize(("backend", "implementation"), COMBINATIONS)
def test_the_reference_agrees_with_every_backend_and_implementation(backend, implementation, require_native, options):
    params = {"ns": [20, 19, 1, 2, 25]}
    if implementation == "native":
        require_native(WORKLOAD, params)
    workers = 1 if backend == "sequential" else 2
    result = run(check_request(RunRequest("fib", params, backend, implementation, workers, options(backend))))
    assert result.value == [6765, 4181, 1, 1, 75025]
    assert (result.verified, result.verification) == (True, "all 5 values equal F(n) by exact integer fast doubling")


def test_naive_fib_counts_from_one_one():
    # F(1) = F(2) = 1, F(10) = 55 (OEIS A000045).
    assert [fib(n) for n in range(1, 11)] == [1, 1, 2, 3, 5, 8, 13, 21, 34, 55]


def test_one_unit_per_n_in_order():
    result = run(check_request(RunRequest("fib", {"ns": "12,1,30"})))
    assert result.value == [144, 1, 832040]
    assert [s["unit"] for s in result.spans] == [0, 1, 2]


def test_verification_catches_one_wrong_number():
    params = {"ns": [10, 11, 12]}
    assert WORKLOAD.verify(params, [55, 89, 144], [55, 89, 144]).ok is True
    verdict = WORKLOAD.verify(params, [55, 90, 144], [55, 90, 144])
    assert (verdict.ok, verdict.detail) == (
        False,
        "verification failed: fib(11) = 90, but F(n) by exact integer fast doubling gives 89; 1 of 3 values differ",
    )
    verdict = WORKLOAD.verify(params, [55, 89], [55, 89])
    assert (verdict.ok, verdict.detail) == (False, "verification failed: 2 values for 3 values of n")
