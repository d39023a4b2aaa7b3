"""Monte Carlo π with counter-based streams: the same answer for any worker count and backend."""

from __future__ import annotations

import math

import pytest

from kernels.engine import RunRequest, run
from kernels.workloads.montecarlo_pi import UNIT_SAMPLES, WORKLOAD

PARAMS = {"samples": 3_500_000, "seed": 11}  # four units, the last one half full


@pytest.fixture(scope="module")
def reference():
    return run(RunRequest("montecarlo_pi", PARAMS)).value


@pytest.mark.parametrize("backend", ["threads", "processes", "subprocesses", "mpi"])
@pytest.mark.parametrize("workers", [1, 2, 3])
def test_identical_for_every_worker_count_and_backend(backend, workers, reference, options):
    result = run(RunRequest("montecarlo_pi", PARAMS, backend, "python", workers, options(backend)))
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
    values = {run(RunRequest("montecarlo_pi", {"samples": 100_000, "seed": seed})).value["inside"] for seed in range(4)}
    assert len(values) == 4
