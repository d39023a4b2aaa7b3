"""Measuring the measurement: CPU time of every process of a run, and the rules that flag a timing."""

from __future__ import annotations

import multiprocessing
import os

import pytest

from kernels.engine import RunRequest, check_request, run
from kernels.measurement import judge


def burn(stop) -> None:
    while not stop.is_set():
        pass


def test_cpu_time_counts_every_process_of_the_run():
    # Two pool processes each computing fib(30): the engine's own process does almost nothing.
    result = run(check_request(RunRequest("fib", {"ns": [30, 30, 30, 30]}, "processes", "python", 2)))
    units_cpu = sum(span["cpu"] for span in result.spans)
    assert units_cpu > 0.05
    assert result.cpu_time >= 0.9 * units_cpu  # the children's time is in it, not only the parent's
    assert {"load_before", "load_after"} <= set(result.host)


def span(cpu, start, end, unit=0):
    return {"unit": unit, "worker": 0, "start": start, "end": end, "cpu": cpu}


def test_units_that_got_too_little_cpu_flag_the_run_as_disturbed():
    verdict = judge(backend="processes", implementation="python", workers=2, wall_time=2.1,
                    spans=[span(0.5, 0, 1), span(0.6, 1, 2, 1)], host={"steal": 0.0})  # fmt: skip
    assert verdict.cpu_share == 0.55
    assert verdict.disturbed.startswith("its units got 55% of the CPU")


def test_python_threads_are_expected_to_share_one_core():
    # Two Python threads each get about half a core under the GIL: that is the workload, not a disturbance.
    verdict = judge(backend="threads", implementation="python", workers=2, wall_time=2.05,
                    spans=[span(0.5, 0, 1), span(0.5, 0, 1, 1)], host={})  # fmt: skip
    assert verdict.cpu_share == 1.0 and verdict.disturbed == ""


def test_steal_and_overhead_rules():
    verdict = judge(backend="sequential", implementation="native", workers=1, wall_time=0.1,
                    spans=[span(0.02, 0.05, 0.07)], host={"steal": 0.2})  # fmt: skip
    assert "hypervisor took 20%" in verdict.disturbed
    assert verdict.too_short.startswith("too short to time: 0.08 s of its 0.1 s")


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs Linux CPU affinity")
def test_a_run_sharing_its_core_with_a_competing_load_is_flagged():
    # The field condition, made deterministic: this process and three busy loops pinned to one core.
    cpu = sorted(os.sched_getaffinity(0))[0]
    before = os.sched_getaffinity(0)
    stop = multiprocessing.get_context("fork").Event()
    burners = [multiprocessing.get_context("fork").Process(target=burn, args=(stop,)) for _ in range(3)]
    os.sched_setaffinity(0, {cpu})
    try:
        for process in burners:
            process.start()
        result = run(check_request(RunRequest("fib", {"ns": [27, 27, 27]}, "sequential", "python", 1)))
    finally:
        stop.set()
        for process in burners:
            process.join(5)
        os.sched_setaffinity(0, before)
    verdict = judge(backend="sequential", implementation="python", workers=1, wall_time=result.wall_time,
                    spans=result.spans, host=result.host)  # fmt: skip
    assert verdict.cpu_share is not None and verdict.cpu_share < 0.5
    assert "other programs were competing" in verdict.disturbed
