"""The process pool backend: forked workers, longest units first, and a dead worker fails the run."""

from __future__ import annotations

from kernels.engine import RunRequest, check_request, run
from kernels.errors import WorkerFailed


def test_longest_units_start_first():
    # With one worker the pool runs units in submission order: longest first.
    result = run(check_request(RunRequest("fib", {"ns": [10, 25, 15, 20]}, "processes", "python", 1)))
    order = [span["unit"] for span in sorted(result.spans, key=lambda s: s["start"])]
    assert order == [1, 3, 2, 0]
    assert result.value == [55, 75025, 610, 6765]


def test_a_killed_worker_fails_the_run_instead_of_hanging(background, processes):
    running = background(RunRequest("fib", {"ns": [40, 40, 40]}, "processes", "python", 2))
    seen = processes.wait_for_workers("processes", 2)
    seen[0].kill()
    running.join(20)
    assert isinstance(running.error, WorkerFailed)
    assert str(running.error).startswith("a worker process died")
    processes.assert_nothing_left(seen)
