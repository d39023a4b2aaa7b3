"""Every (workload, backend, implementation) the registry offers gives the sequential answer, and reports progress."""

from __future__ import annotations

from typing import Any

import pytest

from kernels.engine import RunRequest, check_request, run
from kernels.registry import WORKLOADS

COMBINATIONS = [
    (workload.name, backend, implementation)
    for workload in WORKLOADS.values()
    for backend in workload.backends
    for implementation in workload.implementations
    if workload.supports(backend, implementation)
]

_references: dict[str, Any] = {}


def sequential_value(name: str, params: dict[str, Any]) -> Any:
    """The answer every backend must reproduce, bit for bit: the plain sequential Python run."""
    if name not in _references:
        _references[name] = run(check_request(RunRequest(name, params))).value
    return _references[name]


@pytest.mark.parametrize(("name", "backend", "implementation"), COMBINATIONS, ids=["-".join(c) for c in COMBINATIONS])
def test_every_combination_returns_the_reference(name, backend, implementation, small, require_native, options):
    workload, params = WORKLOADS[name], small(name)
    if implementation == "native":
        require_native(workload, params)
    workers = 1 if backend == "sequential" else 2
    request = check_request(RunRequest(name, params, backend, implementation, workers, options(backend)))

    result = run(request)

    assert result.verified is True, result.verification
    if workload.supports("sequential", "python"):
        assert result.value == sequential_value(name, params)


def test_every_workload_is_offered_somewhere_and_describes_itself():
    for workload in WORKLOADS.values():
        assert workload.backends and workload.implementations, workload.name
        described = workload.describe()
        assert described["name"] == workload.name
        assert workload.validate({}) == {p["name"]: p["default"] for p in described["params"]}


PROGRESS_CASES = [
    ("fib", "sequential", 1),
    ("fib", "threads", 2),
    ("fib", "processes", 2),
    ("fib", "subprocesses", 2),
    ("fib", "mpi", 2),
    ("fib", "mpi", 3),
    ("mpi_ring", "mpi", 3),
    ("heat", "mpi", 2),
]


@pytest.mark.parametrize(
    ("name", "backend", "workers"), PROGRESS_CASES, ids=[f"{n}-{b}-{w}" for n, b, w in PROGRESS_CASES]
)
def test_progress_counts_every_unit_up_to_the_total(name, backend, workers, small, options):
    workload, params = WORKLOADS[name], small(name)
    calls = []

    def on_progress(done, total, worker, elapsed, span):
        calls.append((done, total, worker, elapsed, span))

    request = check_request(RunRequest(name, params, backend, "python", workers, options(backend)))
    result = run(request, on_progress=on_progress)

    total = workload.total_units(workload.validate(params), workers, backend)
    assert [c[0] for c in calls] == list(range(1, total + 1))
    assert {c[1] for c in calls} == {total}
    assert {c[2] for c in calls} <= set(range(workers))
    elapsed = [c[3] for c in calls]
    assert elapsed == sorted(elapsed)
    assert all(c[4].worker == c[2] and c[4].start <= c[4].end for c in calls)
    assert len(result.spans) == total
    if name == "fib":
        # One event per unit, each unit exactly once.
        assert sorted(c[4].unit for c in calls) == list(range(len(params["ns"])))


# subprocesses is not here: its second worker may still be starting Python when the first has taken
# every unit, which is fine (test_subprocesses.py checks that both start).
@pytest.mark.parametrize("backend", ["threads", "processes", "mpi"])
def test_two_workers_share_the_units(backend, options):
    # Four equal units of about 50 ms: each worker gets some, whatever the scheduling.
    params = {"ns": [30, 30, 30, 30]}
    result = run(check_request(RunRequest("fib", params, backend, "python", 2, options(backend))))
    assert {span["worker"] for span in result.spans} == {0, 1}


@pytest.mark.parametrize("backend", ["sequential", "threads", "processes", "subprocesses", "mpi"])
def test_every_unit_is_announced_when_it_starts_on_the_worker_that_runs_it(backend, options):
    # What a live view needs to draw a unit growing before it ends.
    started: dict[int, tuple[int, float]] = {}
    finished: dict[int, float] = {}

    def on_start(unit, worker, start):
        assert unit not in finished, f"unit {unit} announced after it ended"
        started[unit] = (worker, start)

    def on_progress(done, total, worker, elapsed, span):
        finished[span.unit] = span.start

    workers = 1 if backend == "sequential" else 2
    result = run(check_request(RunRequest("fib", {"ns": [25, 24, 23, 22]}, backend, "python", workers, options(backend))),
                 on_progress=on_progress, on_start=on_start)  # fmt: skip
    assert sorted(started) == [0, 1, 2, 3]
    for span in result.spans:
        worker, start = started[span["unit"]]
        assert worker == span["worker"] and start <= span["start"] + 1e-3
