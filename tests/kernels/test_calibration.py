"""Scaling a workload's size by a factor (``Workload.scaled``) and calibrating a baseline to last at least T."""

from __future__ import annotations

import time
from typing import Any

import pytest

from kernels.calibration import HEADROOM, MAX_STEP, calibrate
from kernels.registry import WORKLOADS, get_workload
from kernels.workloads.fib import fib
from tests.kernels.conftest import small_params

SCALABLE = [name for name, w in WORKLOADS.items() if "sequential" in w.backends]
FACTORS = [1.0, 1.5, 3, 10, 100, 1e4, 1e9]


@pytest.mark.parametrize("name", SCALABLE)
def test_scaled_params_are_valid_bounded_and_their_predicted_cost_grows_with_the_factor(name):
    workload = get_workload(name)
    for start in (workload.validate(small_params(name)), workload.validate({})):
        base = workload.work(start)
        works = []
        for factor in FACTORS:
            scaled = workload.scaled(start, factor)
            assert workload.validate(scaled) == scaled, (name, factor, scaled)  # valid, so within every bound
            assert set(scaled) == set(start)
            works.append(workload.work(scaled))
        assert workload.scaled(start, 1.0) == start  # a factor of 1 (or less) leaves the size as it was
        assert workload.scaled(start, 0.5) == start  # and calibrating never shrinks a workload
        assert works == sorted(works), (name, works)  # more factor, never less work
        assert works[-1] > base, (name, start)  # the defaults and the small sizes can all grow


@pytest.mark.parametrize("name", SCALABLE)
def test_a_factor_within_the_bounds_is_reached_without_overshooting_much(name):
    workload = get_workload(name)
    start = workload.validate(small_params(name))
    scaled = workload.scaled(start, 3.0)
    ratio = workload.work(scaled) / workload.work(start)
    # At least the factor (fib grows in steps of φ, so up to φ× above it; ceilings add a little elsewhere).
    assert 3.0 <= ratio <= 3.0 * 1.62, (name, scaled, ratio)


def test_each_workload_grows_the_parameter_its_cost_is_made_of():
    assert get_workload("fib").scaled({"ns": [20, 18]}, 10) == {"ns": [25, 23]}  # φ^5 = 11.1 ≥ 10 > φ^4
    assert get_workload("fib").scaled({"ns": [39, 30]}, 1e6)["ns"] == [40, 40]  # each n at most 40
    assert get_workload("primes").scaled({"n": 999}, 2.5) == {"n": 2499}  # 0…n: n + 1 numbers
    assert get_workload("montecarlo_pi").scaled({"samples": 10_000, "seed": 3}, 4) == {"samples": 40_000, "seed": 3}
    heat = get_workload("heat").scaled({"rows": 40, "cols": 24, "steps": 30}, 2)
    assert heat == {"rows": 40, "cols": 24, "steps": 60}  # the plate stays, the steps double
    mandelbrot = get_workload("mandelbrot")
    view = {"x_min": -2.5, "x_max": 1.0, "y_min": -1.25, "y_max": 1.25}
    finer = mandelbrot.scaled({"width": 64, "height": 40, "max_iter": 64, **view}, 4)
    assert finer == {"width": 128, "height": 80, "max_iter": 64, **view}  # the same view, twice as fine
    # At the largest image of the view, the iterations grow instead, within width × height × max_iter ≤ 10^9.
    most = mandelbrot.scaled({"width": 4096, "height": 4096, "max_iter": 10, **view}, 100)
    assert (most["width"], most["height"], most["max_iter"]) == (4096, 4096, 59)


def test_a_workload_without_a_sequential_baseline_is_not_scaled():
    ring = get_workload("mpi_ring")
    assert ring.scaled({"laps": 1}, 100) == {"laps": 1}


class Machine:
    """A stand-in for a measured baseline: seconds proportional to the predicted work, plus a start-up."""

    def __init__(self, name: str, seconds_per_work: float, startup: float = 0.0):
        self.workload = get_workload(name)
        self.rate, self.startup = seconds_per_work, startup
        self.measured: list[dict[str, Any]] = []

    def __call__(self, params: dict[str, Any]) -> float:
        self.measured.append(params)
        return self.startup + self.rate * self.workload.work(params)


def test_calibrating_scales_until_the_baseline_lasts_the_target():
    machine = Machine("primes", 1e-6)  # 1 µs a number: n = 1000 lasts 1 ms
    result = calibrate(machine.workload, {"n": 1000}, target=0.5, measure=machine, limit=60)
    assert result.seconds is not None and result.seconds >= 0.5
    # 1 ms → 30 ms (at most MAX_STEP× a round) → 0.6 s, 1.2 × the target, along the line through the two.
    assert HEADROOM == 1.2 and MAX_STEP == 30
    assert [params["n"] for params, _ in result.rounds] == [1000, 30_029, pytest.approx(599_999, abs=1)]
    assert result.short == ""
    document = result.as_dict()
    assert (document["from"], document["to"], document["reached"]) == ({"n": 1000}, result.params, True)


def test_a_start_up_that_hides_the_work_takes_more_rounds_but_gets_there():
    # The first reading is mostly start-up, so its prediction falls short; later rounds correct it.
    machine = Machine("montecarlo_pi", 1e-8, startup=0.05)
    result = calibrate(machine.workload, {"samples": 1000, "seed": 1}, target=1.0, measure=machine, limit=60)
    assert result.short == "" and result.seconds is not None and result.seconds >= 1.0
    assert 2 < len(result.rounds) <= 4
    assert [params["samples"] for params, _ in result.rounds] == sorted(p["samples"] for p, _ in result.rounds)


def test_a_baseline_already_long_enough_is_kept():
    machine = Machine("heat", 1e-6)
    result = calibrate(
        machine.workload, {"rows": 512, "cols": 512, "steps": 500}, target=1.0, measure=machine, limit=60
    )
    assert result.params == {"rows": 512, "cols": 512, "steps": 500} and len(machine.measured) == 1
    assert result.short == ""


def test_the_bounds_stopping_it_short_of_the_target_are_said():
    machine = Machine("fib", 1e-9)  # fib(40) alone is 0.2 s here
    result = calibrate(machine.workload, {"ns": [30]}, target=5.0, measure=machine, limit=600)
    assert result.params == {"ns": [40]}
    assert result.short.startswith("the parameter bounds stop it at 0.229 s, short of 5 s: fib cannot be made")
    assert result.as_dict()["reached"] is False


def test_the_time_limit_is_never_predicted_to_be_passed():
    machine = Machine("primes", 1e-6)  # n = 10^7 lasts 10 s, n = 10^9 would last 1000 s
    result = calibrate(machine.workload, {"n": 10_000_000}, target=200, measure=machine, limit=100)
    assert all(seconds <= 100 for _, seconds in result.rounds) and len(result.rounds) == 2
    assert result.short.startswith("the time limit stops it at")
    assert "predicted to pass 100 s" in result.short


def test_rounds_are_bounded_when_the_prediction_keeps_missing():
    readings = iter([0.01, 0.011, 0.012, 0.013, 0.014])
    result = calibrate(get_workload("primes"), {"n": 1000}, target=1.0, measure=lambda _: next(readings), limit=60)
    assert len(result.rounds) == 4
    assert result.short.startswith("after 4 measurements the baseline lasts 0.013 s, short of 1 s")


def test_calibrating_a_real_sequential_run():
    # fib's own units timed on this machine, one after the other, as the sequential backend runs them.
    def measure(params: dict[str, Any]) -> float:
        started = time.perf_counter()
        for n in params["ns"]:
            fib(n)
        return time.perf_counter() - started

    result = calibrate(get_workload("fib"), {"ns": [12, 11]}, target=0.2, measure=measure, limit=30)
    assert result.short == "", result.as_dict()
    assert result.seconds is not None and result.seconds >= 0.2
    assert result.params["ns"][0] - result.params["ns"][1] == 1  # the list kept its shape
