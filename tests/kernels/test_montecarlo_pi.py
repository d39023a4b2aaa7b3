"""Monte Carlo π with counter-based streams: the same answer for any worker count and backend."""

from __future__ import annotations

import math

import pytest

from kernels.engine import RunRequest, check_request, run
from kernels.workloads.montecarlo_pi import UNIT_SAMPLES, WORKLOAD

PARAMS = {"samples": 3_500_000, "seed": 11}  # four units, the last one half full


@pytest.fixture(scope="module")
def reference():
    return run(check_request(RunRequest("montecarlo_pi", PARAMS))).value


@pytest.mark.parametrize("backend", ["threads", "processes", "subprocesses", "mpi"])
@pytest.mark.parametrize("workers", [1, 2, 3])
def test_identical_for_every_worker_count_and_backend(backend, workers, reference, options):
    result = run(check_request(RunRequest("montecarlo_pi", PARAMS, backend, "python", workers, options(backend))))
    assert result.value == reference


def test_the_estimate_is_close_to_pi(reference):
    assert reference["samples"] == 3_500_000
    assert reference["estimate"] == 4 * reference["inside"] / 3_500_000
    assert abs(reference["estimate"] - math.pi) < 5 * reference["std_error"]


def test_units_have_a_fixed_size_whatever_the_worker_count():
    params = WORKLOAD.validate(PARAMS)
    assert WORKLOAD.split(params, 1) == WORKLOAD.split(params, 7)
    sizes = [stop - start for _, start, stop in WORKLOAD.split(params, 1)]
    assert sizes == [UNIT_SAMPLES] * 3 + [500_000]


def test_different_seeds_give_different_samples():
    values = {
        run(check_request(RunRequest("montecarlo_pi", {"samples": 100_000, "seed": seed}))).value["inside"]
        for seed in range(4)
    }
    assert len(values) == 4


COMBINATIONS = [(b, i) for b in WORKLOAD.backends for i in WORKLOAD.implementations if WORKLOAD.supports(b, i)]


@pytest.mark.parametrize(("backend", "implementation"), COMBINATIONS)
def test_every_backend_and_implementation_is_checked_against_pi(backend, implementation, require_native, options):
    params = {"samples": 1_500_000, "seed": 3}
    if implementation == "native":
        require_native(WORKLOAD, params)
    workers = 1 if backend == "sequential" else 2
    result = run(check_request(RunRequest("montecarlo_pi", params, backend, implementation, workers, options(backend))))
    assert result.verified is True, result.verification
    assert (
        result.verification.startswith("|estimate − π| = ")
        and "standard errors (at most 5 allowed)" in result.verification
    )


def test_a_lost_unit_or_a_count_that_does_not_add_up_fails_verification(reference):
    params = WORKLOAD.validate(PARAMS)
    counts = [WORKLOAD.run_unit(unit) for unit in WORKLOAD.split(params, 1)]
    assert WORKLOAD.verify(params, reference, counts).ok is True
    lost = [*counts[:2], 0, counts[3]]  # one unit's points never counted: the estimate drops by ~0.9
    verdict = WORKLOAD.verify(params, WORKLOAD.combine(params, lost).value, lost)
    assert verdict.ok is False
    assert verdict.detail.startswith("verification failed: |estimate − π| = 0.")
    assert verdict.detail.endswith("standard errors (at most 5 allowed)")
    verdict = WORKLOAD.verify(params, {**reference, "inside": reference["inside"] + 1}, counts)
    assert verdict.detail == (
        f"verification failed: the estimate 4 × {reference['inside'] + 1}/3500000 does not add up from the 4 units' "
        "counts"
    )
