"""The scaling math: the Amdahl fit recovers a known serial fraction, Karp–Flatt agrees with it, and
``analyse`` turns repeated timings into medians, speedups and efficiencies against the right baseline."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kernels.scaling import Sample, amdahl_fit, analyse, efficiency, karp_flatt, spread


def amdahl_time(t1: float, f: float, p: float) -> float:
    return t1 * (f + (1 - f) / p)


@pytest.mark.parametrize("f", [0.0, 0.05, 0.3, 0.9, 1.0])
def test_the_fit_recovers_the_serial_fraction_of_exact_timings(f):
    workers = [1, 2, 3, 4, 6, 8]
    fit = amdahl_fit(workers, [amdahl_time(12.0, f, p) for p in workers])
    assert fit is not None
    assert fit.serial_fraction == pytest.approx(f, abs=1e-9)
    assert fit.t1 == pytest.approx(12.0)
    assert fit.rms_error == pytest.approx(0.0, abs=1e-9)
    assert fit.time(4) == pytest.approx(amdahl_time(12.0, f, 4))


@pytest.mark.parametrize("f", [0.02, 0.1, 0.25, 0.5])
def test_the_fit_recovers_the_serial_fraction_through_noise(f):
    rng = np.random.default_rng(20261126)
    workers, times = [], []
    for p in (1, 2, 3, 4, 5, 6, 7, 8):
        for _ in range(5):  # repetitions, each off by a few percent, as real runs are
            workers.append(p)
            times.append(amdahl_time(30.0, f, p) * (1 + rng.normal(0, 0.03)))
    fit = amdahl_fit(workers, times)
    assert fit is not None
    assert fit.serial_fraction == pytest.approx(f, abs=0.02)
    assert fit.t1 == pytest.approx(30.0, rel=0.03)
    assert 0 < fit.rms_error < 0.05 * 30.0


def test_two_worker_counts_are_enough_and_one_is_not():
    # With p = 1 and 2 the line passes through both medians: f = 2·T2/T1 − 1.
    fit = amdahl_fit([1, 2], [10.0, 5.5])
    assert fit is not None and fit.serial_fraction == pytest.approx(0.1)
    assert amdahl_fit([2, 2, 2], [5.0, 5.1, 4.9]) is None
    with pytest.raises(ValueError, match="differ in length"):
        amdahl_fit([1, 2], [1.0])


def test_a_backend_that_gets_slower_with_more_workers_fits_as_all_serial():
    # Threads under the GIL: two workers take a little longer than one. Amdahl cannot go above f = 1.
    fit = amdahl_fit([1, 1, 2, 2], [10.0, 10.2, 10.6, 10.4])
    assert fit is not None
    assert fit.serial_fraction == 1.0
    assert fit.t1 == pytest.approx(10.3)
    assert fit.speedup_limit(baseline=10.3) == pytest.approx(1.0)


def test_superlinear_timings_fit_as_perfectly_parallel():
    fit = amdahl_fit([1, 2, 4], [10.0, 4.8, 2.3])
    assert fit is not None
    assert fit.serial_fraction == 0.0
    assert fit.speedup_limit(baseline=10.0) is None


def test_karp_flatt_equals_amdahls_fraction_for_amdahl_timings():
    for f in (0.0, 0.1, 0.4):
        for p in (2, 3, 8):
            speedup = 1 / (f + (1 - f) / p)
            assert karp_flatt(speedup, p) == pytest.approx(f, abs=1e-12)
    assert karp_flatt(1.0, 1) is None
    assert karp_flatt(2.0, 2) == pytest.approx(0.0)  # ideal speedup: nothing serial
    assert efficiency(1.8, 2) == pytest.approx(0.9)


def test_spread_is_median_min_max():
    assert spread([3.0, 1.0, 2.0]) == spread([2.0, 3.0, 1.0])
    s = spread([4.0, 1.0, 2.0, 10.0])
    assert (s.median, s.minimum, s.maximum, s.count) == (3.0, 1.0, 10.0, 4)
    with pytest.raises(ValueError):
        spread([])


def samples(backend, implementation, times_by_workers, **marks):
    return [
        Sample(backend, implementation, workers, t, **marks)
        for workers, times in times_by_workers.items()
        for t in times
    ]


def test_analyse_measures_each_series_against_its_own_implementations_sequential_run():
    data = (
        samples("sequential", "python", {1: [10.0, 10.4, 9.8]})
        + samples("processes", "python", {1: [10.5, 10.6, 10.4], 2: [5.2, 5.4, 5.1]})
        + samples("sequential", "native", {1: [0.5, 0.5, 0.6]})
        + samples("threads", "native", {1: [0.5, 0.52, 0.51], 2: [0.26, 0.25, 0.3]})
    )
    series = {s.label: s for s in analyse(data, order=[("sequential", "python"), ("processes", "python")])}
    assert list(series)[:2] == ["sequential × python", "processes × python"]

    processes = series["processes × python"]
    assert processes.baseline == 10.0 and processes.baseline_label == "sequential × python"
    two = processes.points[1]
    assert (two.workers, two.time.median, two.time.minimum, two.time.maximum) == (2, 5.2, 5.1, 5.4)
    assert two.speedup == pytest.approx(10.0 / 5.2)
    # The interval of the speedup lies within what the extremes allow, and clearly above 1.
    assert 1 < two.speedup_low < two.speedup < two.speedup_high <= 10.5 / 5.1 + 1e-9
    assert two.speedup_clear
    assert two.efficiency == pytest.approx(10.0 / 5.2 / 2)
    assert two.karp_flatt == pytest.approx(karp_flatt(10.0 / 5.2, 2))
    assert processes.fit is None  # two worker counts: Amdahl's two parameters would pass through both exactly

    native = series["threads × native"]
    assert native.baseline == 0.5 and native.baseline_label == "sequential × native"
    assert native.points[1].speedup == pytest.approx(0.5 / 0.26)

    sequential = series["sequential × python"]
    assert sequential.is_baseline and sequential.fit is None
    assert sequential.points[0].speedup == pytest.approx(1.0)


def test_one_disturbed_repetition_does_not_drag_the_fit():
    # Amdahl with f = 0.1 and T1 = 10, but one 2-worker run lost a core to another program.
    data = samples("sequential", "python", {1: [10.0] * 3}) + samples(
        "processes", "python", {1: [10.0, 10.0, 10.0], 2: [5.5, 5.5, 10.0], 4: [3.25] * 3}
    )
    processes = {s.label: s for s in analyse(data)}["processes × python"]
    assert processes.fit.serial_fraction == pytest.approx(0.1)
    assert processes.points[1].time.maximum == 10.0  # still shown, as the max


def test_runs_flagged_disturbed_are_left_out_while_undisturbed_ones_remain():
    data = (
        samples("sequential", "python", {1: [10.0, 10.1]})
        + samples("sequential", "python", {1: [20.0]}, disturbed=True)
        + samples("processes", "python", {2: [5.0, 5.1]})
        + samples("processes", "python", {2: [9.0]}, disturbed=True)
        + samples("processes", "python", {4: [4.0]}, disturbed=True)
    )
    series = {s.label: s for s in analyse(data)}
    assert series["sequential × python"].points[0].disturbed == 1 and series["processes × python"].baseline == 10.05
    two, four = series["processes × python"].points
    assert (two.time.median, two.time.count, two.disturbed) == (5.05, 2, 1)
    # Only disturbed runs: they are all there is, so they are shown (not hidden), and not counted as left out.
    assert (four.time.median, four.disturbed) == (4.0, 0)
    # ... but a speedup from them is not drawn as one, whatever its interval says.
    assert four.speedup == pytest.approx(10.05 / 4.0) and four.speedup_low > 1 and not four.speedup_clear
    assert four.as_dict()["speedup_unclear"] == "every run of this point was disturbed by other programs"
    assert two.speedup_clear and two.speedup_unclear == ""


def test_a_clean_run_against_baselines_that_were_all_disturbed_is_no_clear_speedup():
    # Seen under two busy loops: threads × native at 1 worker, one undisturbed run of 0.13 s against
    # four disturbed sequential runs of ~0.24 s, read "1.79× (1.52–2.05)" — a load artefact, not a speedup.
    data = samples("sequential", "native", {1: [0.24, 0.20, 0.27, 0.23]}, disturbed=True) + samples(
        "threads", "native", {1: [0.132]}
    )
    one = {s.label: s for s in analyse(data)}["threads × native"].points[0]
    assert one.speedup_low is not None and one.speedup_low > 1  # the interval alone would call it clear
    assert not one.speedup_clear
    assert one.speedup_unclear == "every run of its baseline was disturbed by other programs"


def test_a_speedup_whose_interval_contains_one_is_not_clear():
    # Threads under the GIL: 1.0–1.4× over noisy baselines is not a speedup anyone should read.
    data = samples("sequential", "python", {1: [10.0, 14.0, 11.0, 13.5]}) + samples(
        "threads", "python", {2: [10.5, 9.0, 12.0, 13.0]}
    )
    threads = {s.label: s for s in analyse(data)}["threads × python"].points[0]
    assert threads.speedup_low < 1 < threads.speedup_high
    assert not threads.speedup_clear and threads.as_dict()["speedup_clear"] is False
    assert (
        threads.speedup_unclear == f"the 95% interval {threads.speedup_low:.2f}–{threads.speedup_high:.2f} contains 1"
    )


def test_the_confidence_interval_of_a_median_is_reproducible_and_covers_it():
    s = spread([4.0, 4.1, 3.9, 4.3, 4.0, 8.0])
    assert s.low <= s.median <= s.high and s.high < 8.0
    assert spread([4.0, 4.1, 3.9, 4.3, 4.0, 8.0]) == s  # the same numbers on every view
    one = spread([2.0])
    assert (one.low, one.high) == (2.0, 2.0)


def test_the_amdahl_limit_is_where_the_drawn_curve_levels_off():
    # The backend's own one-worker run is slower than the sequential baseline (start-up costs):
    # the limit must be on the speedup-vs-sequential basis the curve is drawn on, not 1/f.
    data = samples("sequential", "python", {1: [8.0]}) + samples(
        "processes", "python", {p: [amdahl_time(10.0, 0.1, p)] for p in (1, 2, 4, 8)}
    )
    processes = {s.label: s for s in analyse(data)}["processes × python"]
    as_dict = processes.as_dict(upto=8)
    assert as_dict["amdahl"]["speedup_limit"] == pytest.approx(8.0 / (10.0 * 0.1))  # 8×, not 1/f = 10×
    far = processes.fit.speedup(1e9, processes.baseline)
    assert far == pytest.approx(as_dict["amdahl"]["speedup_limit"], rel=1e-6)
    assert as_dict["amdahl"]["points"] == 4 and as_dict["amdahl"]["relative_error"] == pytest.approx(0, abs=1e-9)


def test_without_a_sequential_run_speedup_is_relative_to_the_fewest_workers():
    series = analyse(samples("processes", "python", {2: [6.0], 4: [3.0]}))[0]
    assert series.baseline == 6.0
    assert series.baseline_label == "processes × python with 2 workers"
    assert series.points[1].speedup == pytest.approx(2.0)


def test_the_fitted_curve_and_the_dict_form():
    data = samples("sequential", "python", {1: [8.0]}) + samples("processes", "python", {1: [8.0], 2: [4.4], 4: [2.6]})
    processes = analyse(data)[0]
    assert processes.label == "processes × python"
    curve = processes.fit_curve(upto=4)
    assert curve[0] == (1.0, pytest.approx(1.0)) and curve[-1][0] == 4.0
    assert all(b[1] > a[1] for a, b in zip(curve, curve[1:], strict=False))  # f < 1: more workers, more speedup
    as_dict = processes.as_dict(upto=4)
    assert as_dict["amdahl"]["serial_fraction"] == pytest.approx(0.1)
    assert as_dict["amdahl"]["speedup_limit"] == pytest.approx(10.0)
    assert as_dict["points"][1] == {
        "workers": 2, "runs": 1, "median": 4.4, "low": 4.4, "high": 4.4, "min": 4.4, "max": 4.4,
        "speedup": pytest.approx(8 / 4.4), "speedup_low": pytest.approx(8 / 4.4),
        "speedup_high": pytest.approx(8 / 4.4), "speedup_clear": True, "speedup_unclear": "",
        "efficiency": pytest.approx(4 / 4.4), "karp_flatt": pytest.approx(0.1),
        "disturbed": 0, "too_short": 0, "imbalance": None,
    }  # fmt: skip
    assert not math.isnan(as_dict["amdahl"]["rms_error"])
