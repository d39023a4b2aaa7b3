"""Scaling math: medians with bootstrap confidence intervals, speedup, efficiency, Amdahl's-law fit, Karp–Flatt.

Pure numbers (numpy only), shared by the study pages, the API, the exports and ``paralab remote study``.

Speedup is measured against the sequential baseline of the same implementation (``sequential ×
python`` for python series), so the ideal line S(p) = p applies; the time chart shows how the
implementations compare in absolute terms.

Honest noise: each median comes with a 95% confidence interval (percentile bootstrap, fixed seed so
a page shows the same numbers twice), and a speedup whose interval contains 1 is reported as "no
clear speedup", not as a number to read. Runs flagged disturbed (kernels/measurement.py) are left out
of a point while it has undisturbed repetitions.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

BASELINE_BACKEND = "sequential"


BOOTSTRAP_RESAMPLES = 2000
CONFIDENCE = 0.95
# Amdahl's law has two parameters: a fit needs a third worker count before its residual means anything.
MIN_FIT_POINTS = 3


@dataclass(frozen=True)
class Sample:
    """One timed run: a job's wall time on backend × implementation × workers, and what was noticed about it."""

    backend: str
    implementation: str
    workers: int
    wall_time: float
    disturbed: bool = False
    too_short: bool = False
    imbalance: float | None = None


@dataclass(frozen=True)
class Spread:
    """The median of repeated measurements, its 95% confidence interval, and the extremes."""

    median: float
    minimum: float
    maximum: float
    count: int
    low: float  # confidence interval of the median (equal to the median for one value)
    high: float


def _rng() -> np.random.Generator:
    return np.random.default_rng(2026)  # fixed: the same study shows the same intervals on every view


def _bootstrap_medians(values: Sequence[float], rng: np.random.Generator) -> np.ndarray:
    data = np.asarray(values, dtype=float)
    picks = rng.integers(0, len(data), size=(BOOTSTRAP_RESAMPLES, len(data)))
    return np.median(data[picks], axis=1)


def _interval(estimates: np.ndarray) -> tuple[float, float]:
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(estimates, [tail, 100 - tail])
    return float(low), float(high)


def spread(values: Iterable[float]) -> Spread:
    values = sorted(values)
    if not values:
        raise ValueError("no values")
    low, high = _interval(_bootstrap_medians(values, _rng())) if len(values) > 1 else (values[0], values[0])
    return Spread(statistics.median(values), values[0], values[-1], len(values), low, high)


def speedup_interval(baseline: Sequence[float], times: Sequence[float]) -> tuple[float, float]:
    """95% interval of median(baseline) / median(times), both resampled (percentile bootstrap)."""
    rng = _rng()
    ratios = _bootstrap_medians(baseline, rng) / _bootstrap_medians(times, rng)
    return _interval(ratios)


def efficiency(speedup: float, workers: int) -> float:
    """Parallel efficiency E = S / p: 1.0 when every worker is fully used."""
    return speedup / workers


def karp_flatt(speedup: float, workers: int) -> float | None:
    """The experimentally determined serial fraction e = (1/S − 1/p) / (1 − 1/p) (Karp & Flatt, 1990).

    Equals Amdahl's f when the timings follow Amdahl's law; an e that grows with p points at
    overhead (start-up, communication) rather than inherently serial work. Undefined for p = 1.
    """
    if workers <= 1 or speedup <= 0:
        return None
    return (1 / speedup - 1 / workers) / (1 - 1 / workers)


@dataclass(frozen=True)
class AmdahlFit:
    """T(p) = T1 · (f + (1 − f) / p), fitted by least squares to measured times."""

    serial_fraction: float  # f, in [0, 1]
    t1: float  # the fitted one-worker time, seconds
    rms_error: float  # root-mean-square residual of the fitted times, seconds

    def time(self, workers: float) -> float:
        return self.t1 * (self.serial_fraction + (1 - self.serial_fraction) / workers)

    def speedup(self, workers: float, baseline: float) -> float:
        return baseline / self.time(workers)

    def speedup_limit(self, baseline: float) -> float | None:
        """Where the fitted speedup curve levels off with unlimited workers, on the drawn basis:
        baseline / (T1·f). Amdahl's 1/f is this only when the baseline is the series' own T1."""
        return baseline / (self.t1 * self.serial_fraction) if self.serial_fraction > 0 else None


def amdahl_fit(workers: Sequence[int], times: Sequence[float]) -> AmdahlFit | None:
    """Fit Amdahl's law to (workers, wall time) samples; None with fewer than two distinct worker counts.

    T(p) = T1·f + T1·(1 − f)/p is linear in 1/p: T = a + b/p with a = T1·f and b = T1·(1 − f), so
    an ordinary least-squares line through (1/p, T) gives f = a / (a + b). Amdahl's model needs
    a, b ≥ 0; when noise (or a backend that gets slower with more workers, like threads under
    the GIL) pushes one below zero, the best fit with it pinned at zero is taken: b = 0 is
    "all serial" (f = 1), a = 0 is "perfectly parallel" (f = 0).
    """
    if len(workers) != len(times):
        raise ValueError("workers and times differ in length")
    if len(set(workers)) < 2:
        return None
    x = 1 / np.asarray(workers, dtype=float)
    y = np.asarray(times, dtype=float)
    design = np.column_stack([np.ones_like(x), x])
    (a, b), *_ = np.linalg.lstsq(design, y, rcond=None)
    if a < 0 or b < 0:
        # The two boundary fits of the constrained problem; each 1-D optimum is already ≥ 0 since y > 0.
        candidates = [(0.0, float(x @ y / (x @ x))), (float(y.mean()), 0.0)]
        a, b = min(candidates, key=lambda ab: float(np.sum((ab[0] + ab[1] * x - y) ** 2)))
    t1 = float(a + b)
    if t1 <= 0:
        return None
    rms = float(np.sqrt(np.mean((a + b * x - y) ** 2)))
    return AmdahlFit(serial_fraction=float(a) / t1, t1=t1, rms_error=rms)


@dataclass(frozen=True)
class Point:
    """One worker count of a series: the times over repetitions and what follows from them."""

    workers: int
    time: Spread
    speedup: float | None  # baseline median / this median
    speedup_low: float | None  # its 95% confidence interval
    speedup_high: float | None
    efficiency: float | None
    karp_flatt: float | None
    disturbed: int = 0  # repetitions left out as disturbed
    too_short: int = 0  # repetitions too short to time
    imbalance: float | None = None  # median max/mean busy time over the repetitions
    # Why the times compared are not comparable, whatever the interval: every run of the point or of its
    # baseline was disturbed (a clean run against disturbed baselines read as 1.79× at 1 worker under load).
    unsettled: str = ""

    @property
    def speedup_clear(self) -> bool:
        """Whether the interval says there is a speedup (or a slowdown): it does not contain 1, and both
        sides were timed undisturbed."""
        return (
            not self.unsettled
            and self.speedup_low is not None
            and self.speedup_high is not None
            and not (self.speedup_low <= 1 <= self.speedup_high)
        )

    @property
    def speedup_unclear(self) -> str:
        """Why the speedup is not drawn as one ("" when it is)."""
        if self.speedup_clear or self.speedup_low is None or self.speedup_high is None:
            return ""
        return self.unsettled or f"the 95% interval {self.speedup_low:.2f}–{self.speedup_high:.2f} contains 1"

    def as_dict(self) -> dict[str, Any]:
        return {
            "workers": self.workers,
            "runs": self.time.count,
            "median": self.time.median,
            "low": self.time.low,
            "high": self.time.high,
            "min": self.time.minimum,
            "max": self.time.maximum,
            "speedup": self.speedup,
            "speedup_low": self.speedup_low,
            "speedup_high": self.speedup_high,
            "speedup_clear": self.speedup_clear,
            "speedup_unclear": self.speedup_unclear,
            "efficiency": self.efficiency,
            "karp_flatt": self.karp_flatt,
            "disturbed": self.disturbed,
            "too_short": self.too_short,
            "imbalance": self.imbalance,
        }


@dataclass(frozen=True)
class Series:
    """One backend × implementation across worker counts."""

    backend: str
    implementation: str
    baseline: float | None  # the median time speedups are measured against
    baseline_label: str
    points: list[Point]
    fit: AmdahlFit | None = None
    samples: list[Sample] = field(default_factory=list, repr=False)

    @property
    def label(self) -> str:
        return f"{self.backend} × {self.implementation}"

    @property
    def is_baseline(self) -> bool:
        return self.backend == BASELINE_BACKEND

    def fit_curve(self, upto: int, steps_per_worker: int = 4) -> list[tuple[float, float]]:
        """(p, fitted speedup) from 1 to ``upto`` workers, for drawing the Amdahl curve."""
        if self.fit is None or self.baseline is None:
            return []
        count = max(1, (upto - 1) * steps_per_worker)
        grid = [1 + i / steps_per_worker for i in range(count + 1)]
        return [(p, self.fit.speedup(p, self.baseline)) for p in grid]

    def as_dict(self, upto: int | None = None) -> dict[str, Any]:
        fit = None
        if self.fit is not None:
            top = upto or max(p.workers for p in self.points)
            fit = {
                "serial_fraction": self.fit.serial_fraction,
                "t1": self.fit.t1,
                "rms_error": self.fit.rms_error,
                "relative_error": self.fit.rms_error / self.fit.t1,
                "points": len(self.points),
                "speedup_limit": self.fit.speedup_limit(self.baseline) if self.baseline else None,
                "curve": [[round(p, 4), s] for p, s in self.fit_curve(top)],
            }
        return {
            "backend": self.backend,
            "implementation": self.implementation,
            "label": self.label,
            "is_baseline": self.is_baseline,
            "baseline": self.baseline,
            "baseline_label": self.baseline_label,
            "points": [p.as_dict() for p in self.points],
            "amdahl": fit,
        }


def _baselines(samples: Sequence[Sample]) -> dict[str, list[Sample]]:
    """The sequential runs of each implementation."""
    runs: dict[str, list[Sample]] = {}
    for s in samples:
        if s.backend == BASELINE_BACKEND:
            runs.setdefault(s.implementation, []).append(s)
    return runs


def _trusted(samples: list[Sample]) -> tuple[list[Sample], int]:
    """The samples a point is computed from: the undisturbed ones while there are any; and how many were left out."""
    clean = [s for s in samples if not s.disturbed]
    return (clean, len(samples) - len(clean)) if clean else (samples, 0)


def _unsettled(used: list[Sample], base: list[Sample]) -> str:
    """Why a point's speedup cannot be read as one: its runs, or its baseline's, were all disturbed."""
    if used and all(s.disturbed for s in used):
        return "every run of this point was disturbed by other programs"
    if base and all(s.disturbed for s in base):
        return "every run of its baseline was disturbed by other programs"
    return ""


def analyse(samples: Iterable[Sample], order: Sequence[tuple[str, str]] = ()) -> list[Series]:
    """Group samples by backend × implementation and derive each series' points and Amdahl fit (to the medians).

    Each series is measured against the sequential run of its own implementation; without one,
    against the sequential python run; without that, against its own fewest-workers median
    (a relative speedup, labelled as such). ``order`` lists (backend, implementation) pairs to
    put first, in that order; the rest follow sorted. Disturbed runs are left out of every point
    (baselines included) that has undisturbed ones.
    """
    samples = [s for s in samples if s.wall_time > 0]
    groups: dict[tuple[str, str, int], list[Sample]] = {}
    for s in samples:
        groups.setdefault((s.backend, s.implementation, s.workers), []).append(s)
    kept: dict[tuple[str, str, int], tuple[list[Sample], int]] = {key: _trusted(g) for key, g in groups.items()}
    baselines = _baselines([s for used, _ in kept.values() for s in used])
    series_keys = sorted(
        {(b, i) for b, i, _ in groups}, key=lambda key: (order.index(key) if key in order else len(order), key)
    )

    result = []
    for backend, implementation in series_keys:
        points_in = {w: kept[(b, i, w)] for b, i, w in sorted(kept) if (b, i) == (backend, implementation)}
        spreads = {w: spread([s.wall_time for s in used]) for w, (used, _) in points_in.items()}
        if implementation in baselines:
            base_samples, baseline_label = baselines[implementation], f"{BASELINE_BACKEND} × {implementation}"
        elif "python" in baselines:
            base_samples, baseline_label = baselines["python"], f"{BASELINE_BACKEND} × python"
        else:
            fewest = min(spreads)
            base_samples = points_in[fewest][0]
            baseline_label = f"{backend} × {implementation} with {fewest} worker{'s' if fewest != 1 else ''}"
        base_times = [s.wall_time for s in base_samples]
        baseline = statistics.median(base_times) if base_times else None
        points = []
        for w, sp in spreads.items():
            used, left_out = points_in[w]
            speedup = baseline / sp.median if baseline else None
            low, high = speedup_interval(base_times, [s.wall_time for s in used]) if base_times else (None, None)
            imbalances = [s.imbalance for s in used if s.imbalance is not None]
            points.append(
                Point(
                    workers=w,
                    time=sp,
                    speedup=speedup,
                    speedup_low=low,
                    speedup_high=high,
                    efficiency=efficiency(speedup, w) if speedup is not None else None,
                    karp_flatt=karp_flatt(speedup, w) if speedup is not None else None,
                    disturbed=left_out,
                    too_short=sum(s.too_short for s in used),
                    imbalance=statistics.median(imbalances) if imbalances else None,
                    unsettled="" if backend == BASELINE_BACKEND else _unsettled(used, base_samples),
                )
            )
        # Fitted to the medians, like the table: one repetition slowed by another tenant must not drag the fit.
        fit = None
        if backend != BASELINE_BACKEND and len(spreads) >= MIN_FIT_POINTS:
            fit = amdahl_fit(list(spreads), [sp.median for sp in spreads.values()])
        group = [s for w in points_in for s in groups[(backend, implementation, w)]]
        result.append(Series(backend, implementation, baseline, baseline_label, points, fit, group))
    return result
