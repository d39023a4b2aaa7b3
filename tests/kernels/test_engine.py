"""The engine's front door: every request is checked before anything runs, and a run's result is complete."""

from __future__ import annotations

import json
import threading

import pytest

from kernels.engine import MAX_WORKERS, RunRequest, check_request, run
from kernels.errors import Cancelled, UnsupportedCombination
from kernels.params import ParamError
from kernels.registry import UnknownWorkload
from kernels.workloads.fib import SEED_NS

# The seed's printed output for Pool.map(fib, [38, 37, 36, 35, 34, 33]).
SEED_OUTPUT = [39088169, 24157817, 14930352, 9227465, 5702887, 3524578]


def refused(request: RunRequest, error: type[Exception] = UnsupportedCombination) -> Exception:
    with pytest.raises(error) as caught:
        check_request(request)
    return caught.value


def test_unknown_workload():
    error = refused(RunRequest("fibonacci"), UnknownWorkload)
    assert (
        str(error)
        == "unknown workload 'fibonacci'; choose one of fib, primes, montecarlo_pi, mandelbrot, heat, mpi_ring"
    )


def test_unknown_backend():
    error = refused(RunRequest("fib", backend="gpu"))
    assert error.field == "backend"
    assert error.reason == (
        "unknown backend 'gpu'; choose one of sequential, threads, processes, subprocesses, mpi, openmp, hybrid"
    )


def test_unknown_implementation():
    error = refused(RunRequest("fib", implementation="rust"))
    assert error.field == "implementation"
    assert error.reason == "unknown implementation 'rust'; choose one of python, native"


HEAT_SUPPORTS = "it supports backends sequential, mpi, openmp, hybrid with python, native"
UNITS_SUPPORT = "it supports backends sequential, threads, processes, subprocesses, mpi with python, native"


@pytest.mark.parametrize(
    ("workload", "backend", "implementation", "reason"),
    [
        ("heat", "threads", "python", "heat does not run on threads × python; " + HEAT_SUPPORTS),
        ("heat", "processes", "native", "heat does not run on processes × native; " + HEAT_SUPPORTS),
        ("fib", "openmp", "native", "fib does not run on openmp × native; " + UNITS_SUPPORT),
        ("primes", "hybrid", "native", "primes does not run on hybrid × native; " + UNITS_SUPPORT),
        (
            "mpi_ring",
            "processes",
            "python",
            "mpi_ring does not run on processes × python; it supports backends mpi with python",
        ),
    ],
)
def test_unsupported_combination(workload, backend, implementation, reason):
    error = refused(RunRequest(workload, backend=backend, implementation=implementation, workers=2))
    assert (error.field, error.reason) == ("backend", reason)


@pytest.mark.parametrize("backend", ["openmp", "hybrid"])
def test_openmp_backends_run_compiled_kernels_only(backend):
    error = refused(RunRequest("mandelbrot", backend=backend, implementation="python", workers=2))
    assert (error.field, error.reason) == (
        "implementation",
        f"the {backend} backend runs compiled OpenMP kernels: choose implementation native",
    )


@pytest.mark.parametrize(
    ("workers", "reason"),
    [
        (0, "must be an integer between 1 and 64, got 0"),
        (-1, "must be an integer between 1 and 64, got -1"),
        (MAX_WORKERS + 1, "must be an integer between 1 and 64, got 65"),
        (True, "must be an integer between 1 and 64, got True"),
        (2.0, "must be an integer between 1 and 64, got 2.0"),
        ("2", "must be an integer between 1 and 64, got '2'"),
    ],
)
def test_bad_worker_counts(workers, reason):
    error = refused(RunRequest("fib", backend="processes", workers=workers))
    assert (error.field, error.reason) == ("workers", reason)


def test_workers_are_bounded_by_what_the_parameters_can_use():
    # An 8-row heat grid has 6 interior rows: a seventh rank would own none.
    error = refused(RunRequest("heat", {"rows": 8, "cols": 8, "steps": 1}, backend="mpi", workers=7))
    assert (error.field, error.reason) == ("workers", "must be an integer between 1 and 6, got 7")


def test_sequential_means_one_worker():
    error = refused(RunRequest("fib", backend="sequential", workers=2))
    assert (error.field, error.reason) == ("workers", "the sequential backend runs with exactly 1 worker")


@pytest.mark.parametrize(
    ("params", "field", "reason"),
    [
        ({"ns": [41]}, "ns", "must be 1 to 64 integers, each between 1 and 40, got 41"),
        ({"ns": [1] * 65}, "ns", "must have 1 to 64 items, got 65"),
        ({"ns": [True]}, "ns", "must be an integer, got a boolean"),
        ({"ns": "a,b"}, "ns", "must be an integer, got 'a'"),
        ({"n": 10}, "n", "unknown parameter; expected one of ns"),
    ],
)
def test_bad_parameters(params, field, reason):
    error = refused(RunRequest("fib", params), ParamError)
    assert (error.field, error.reason) == (field, reason)


@pytest.mark.parametrize(
    ("workload", "params", "field", "reason"),
    [
        ("primes", {"n": 10**9 + 1}, "n", "must be between 10 and 1_000_000_000, got 1_000_000_001"),
        ("mandelbrot", {"x_min": 1.0, "x_max": 0.5}, "x_max", "must be greater than x_min"),
        ("mandelbrot", {"y_min": 1.0, "y_max": 1.0}, "y_max", "must be greater than y_min"),
        (
            "mandelbrot",
            {"width": 4096, "height": 4096, "max_iter": 10_000},
            "max_iter",
            "width × height × max_iter must be at most 1_000_000_000, got 167_772_160_000",
        ),
        (
            "heat",
            {"rows": 2048, "cols": 2048, "steps": 2000},
            "steps",
            "rows × cols × steps must be at most 5_000_000_000, got 8_388_608_000",
        ),
        ("montecarlo_pi", {"samples": 999}, "samples", "must be between 1000 and 2_000_000_000, got 999"),
        ("mpi_ring", {"laps": 0}, "laps", "must be between 1 and 1000, got 0"),
    ],
)
def test_bad_parameters_of_each_workload(workload, params, field, reason):
    backend = "mpi" if workload == "mpi_ring" else "sequential"
    error = refused(RunRequest(workload, params, backend=backend), ParamError)
    assert (error.field, error.reason) == (field, reason)


def test_check_request_returns_the_cleaned_parameters():
    checked = check_request(RunRequest("fib", {"ns": "5, 6"}))
    assert checked.workload.name == "fib"
    assert checked.request.params == {"ns": [5, 6]}


def test_the_default_fib_run_is_the_seeds_example():
    result = run(check_request(RunRequest("fib", backend="processes", workers=2)))
    assert result.params == {"ns": SEED_NS}
    assert result.value == SEED_OUTPUT
    assert (result.verified, result.verification) == (True, "all 6 values equal F(n) by exact integer fast doubling")


def test_a_result_is_complete_and_its_summary_is_json():
    result = run(
        check_request(
            RunRequest("mandelbrot", {"width": 32, "height": 20, "max_iter": 20}, backend="threads", workers=2)
        )
    )
    assert (result.workload, result.backend, result.implementation, result.workers) == (
        "mandelbrot",
        "threads",
        "python",
        2,
    )
    assert result.wall_time > 0
    assert [span["unit"] for span in sorted(result.spans, key=lambda s: s["unit"])] == [0, 1]
    assert all(0 <= span["start"] <= span["end"] for span in result.spans)
    assert result.artifacts["mandelbrot.png"].startswith(b"\x89PNG")
    summary = json.loads(json.dumps(result.summary()))
    assert summary["artifacts"] == ["mandelbrot.png"]
    assert summary["value"] == result.value
    assert summary["verified"] is True


def test_a_generous_timeout_does_not_disturb_a_run():
    result = run(check_request(RunRequest("fib", {"ns": [15, 16]}, backend="threads", workers=2)), timeout=60)
    assert result.value == [610, 987]


@pytest.mark.parametrize("backend", ["sequential", "threads"])
def test_a_run_cancelled_before_it_starts_runs_nothing(backend):
    cancel = threading.Event()
    cancel.set()
    calls = []
    with pytest.raises(Cancelled):
        run(
            check_request(RunRequest("fib", {"ns": [30]}, backend=backend, workers=1)),
            cancel=cancel,
            on_progress=lambda *args: calls.append(args),
        )
    assert calls == []
