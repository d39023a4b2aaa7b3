"""The benchmark harness: interleaved rounds, ratios from the same round, verdicts against targets."""

from __future__ import annotations

import json
import time

from kernels import bench
from kernels.mpi.common import lpt_assign
from kernels.workloads.fib import WORKLOAD as FIB


def test_seed_shaped_lists_split_exactly_in_half_over_two_workers():
    # Why fib [n..n-5] can reach 2.0× on two cores: longest-first gives each worker F(n) + F(n-3) of work.
    for top in (35, 38, 40):
        ns = bench.seed_shape(top)
        owner = lpt_assign([FIB.cost(n) for n in ns], 2)
        loads = [sum(FIB.cost(n) for n, w in zip(ns, owner, strict=True) if w == worker) for worker in (0, 1)]
        assert abs(loads[0] - loads[1]) / max(loads) < 1e-3, (top, loads)


def test_rounds_rotate_the_order_of_the_cases():
    order: list[str] = []
    cases = [bench.Case(name, lambda name=name: order.append(name) or True) for name in "ABC"]
    group = bench.Group("g", cases, [], rounds=4)
    bench.measure(group, log=lambda line: None)
    assert order == list("ABCBCACABABC")
    assert {label: len(times) for label, times in group.times.items()} == {"A": 4, "B": 4, "C": 4}


def test_a_run_only_case_is_timed_without_its_reference_check():
    # A native Mandelbrot's NumPy reference takes longer than the OpenMP run it checks.
    case = bench.engine_case("openmp W=2", "mandelbrot", {"width": 64, "height": 48}, "openmp", "native", 2,
                             run_only=True)  # fmt: skip
    calls: list[float] = []
    run_and_check = case.call

    def timed_call() -> bool:
        started = time.perf_counter()
        right = run_and_check()
        calls.append(time.perf_counter() - started)
        return right

    case.call = timed_call
    group = bench.Group("g", [case], [], rounds=2)
    bench.measure(group, log=lambda line: None)
    assert group.wrong == [] and len(calls) == 2
    assert all(0 < took < call for took, call in zip(group.times["openmp W=2"], calls, strict=True))


def test_the_openmp_and_hybrid_rows_are_in_the_table():
    groups = {group.name: group for group in bench.build_groups(quick=True)}
    assert [row.title for row in groups["openmp"].rows] == ["mandelbrot 1024×768×300 native: openmp W=2 vs W=1"]
    assert groups["openmp"].rows[0].target.low == 1.9
    assert [(row.candidate, row.baseline) for row in groups["hybrid"].rows] == [
        ("hybrid 1×2", "hybrid 1×1"),
        ("hybrid 2×1", "hybrid 1×1"),
        ("hybrid 1×2", "hybrid 2×1"),
    ]


def test_a_row_is_the_median_of_same_round_ratios():
    row = bench.Row("fast vs slow", "fast", "slow", bench.Target(1.9, text="≥1.9×"))
    group = bench.Group("g", [], [row], rounds=3)
    # The machine slows down over the run; each round's ratio stays 2, the ratio of medians would not.
    group.times = {"fast": [1.0, 3.0, 1.5], "slow": [2.0, 6.0, 3.0]}
    report = bench.row_report(group, row)
    assert report["ratios"] == [2.0, 2.0, 2.0]
    assert (report["ratio"], report["verdict"]) == (2.0, "PASS")
    group.times = {"fast": [1.0, 1.0, 1.0], "slow": [1.5, 1.6, 2.5]}
    assert bench.row_report(group, row)["verdict"] == "MISS"
    group.wrong = ["fast"]
    assert bench.row_report(group, row)["verdict"] == "WRONG"


def test_skipped_rows_say_why_and_the_report_is_json():
    row = bench.Row("native vs python", "native", "python", bench.Target(100, text="≥100×"))
    group = bench.Group("g", [], [row], rounds=3, skip="kernels.native.fib is not built")
    report = bench.row_report(group, row)
    assert report["verdict"] == "SKIP" and report["note"] == "kernels.native.fib is not built"
    assert json.loads(json.dumps(report))["target"] == {"low": 100, "high": None, "text": "≥100×"}
    table = bench.format_table([report])
    assert "SKIP: kernels.native.fib is not built" in table.splitlines()[1]
