"""Scaling math: medians over repetitions, speedup, parallel efficiency, Amdahl's-law fit, Karp–Flatt metric.

Pure numbers (numpy only), shared by the study pages, the API, the exports and ``paralab remote study``.

Speedup is measured against the sequential baseline of the same implementation (``sequential ×
python`` for python series), so the ideal line S(p) = p applies; the time chart shows how the
implementations compare in absolute terms.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

BASELINE_BACKEND = "sequential"


@dataclass(frozen=True)
class Sample:
    """One timed run: a job's wall time on backend × implementation × workers."""

    backend: str
    implementation: str
    workers: int
    wall_time: float


@dataclass(frozen=True)
class Spread:
    """The median and the extremes of repeated measurements."""

    median: float
    minimum: float
    maximum: float
    count: int


def spread(values: Iterable[float]) -> Spread:
    values = sorted(values)
    if not values:
        raise ValueError("no values")
    return Spread(statistics.median(values), values[0], values[-1], len(values))


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

    @property
    def speedup_limit(self) -> float | None:
        """Amdahl's bound 1/f on the speedup over T1 with any number of workers (None when f = 0)."""
        return 1 / self.serial_fraction if self.serial_fraction > 0 else None


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
    speedup_min: float | None  # baseline median / the slowest repetition
    speedup_max: float | None  # baseline median / the fastest repetition
    efficiency: float | None
    karp_flatt: float | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "workers": self.workers,
            "runs": self.time.count,
            "median": self.time.median,
            "min": self.time.minimum,
            "max": self.time.maximum,
            "speedup": self.speedup,
            "speedup_min": self.speedup_min,
            "speedup_max": self.speedup_max,
            "efficiency": self.efficiency,
            "karp_flatt": self.karp_flatt,
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
                "speedup_limit": self.fit.speedup_limit,
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


def _baselines(samples: Sequence[Sample]) -> dict[str, float]:
    """The median sequential time of each implementation."""
    times: dict[str, list[float]] = {}
    for s in samples:
        if s.backend == BASELINE_BACKEND:
            times.setdefault(s.implementation, []).append(s.wall_time)
    return {impl: statistics.median(values) for impl, values in times.items()}


def analyse(samples: Iterable[Sample], order: Sequence[tuple[str, str]] = ()) -> list[Series]:
    """Group samples by backend × implementation and derive each series' points and Amdahl fit (to the medians).

    Each series is measured against the sequential run of its own implementation; without one,
    against the sequential python run; without that, against its own fewest-workers median
    (a relative speedup, labelled as such). ``order`` lists (backend, implementation) pairs to
    put first, in that order; the rest follow sorted.
    """
    samples = [s for s in samples if s.wall_time > 0]
    baselines = _baselines(samples)
    groups: dict[tuple[str, str], list[Sample]] = {}
    for s in samples:
        groups.setdefault((s.backend, s.implementation), []).append(s)
    rank = {key: index for index, key in enumerate(order)}
    keys = sorted(groups, key=lambda key: (rank.get(key, len(rank)), key))

    result = []
    for backend, implementation in keys:
        group = groups[(backend, implementation)]
        by_workers: dict[int, list[float]] = {}
        for s in group:
            by_workers.setdefault(s.workers, []).append(s.wall_time)
        spreads = {w: spread(times) for w, times in sorted(by_workers.items())}
        if implementation in baselines:
            baseline: float | None = baselines[implementation]
            baseline_label = f"{BASELINE_BACKEND} × {implementation}"
        elif "python" in baselines:
            baseline, baseline_label = baselines["python"], f"{BASELINE_BACKEND} × python"
        else:
            fewest = min(spreads)
            baseline = spreads[fewest].median
            baseline_label = f"{backend} × {implementation} with {fewest} worker{'s' if fewest != 1 else ''}"
        points = []
        for w, sp in spreads.items():
            speedup = baseline / sp.median if baseline else None
            points.append(
                Point(
                    workers=w,
                    time=sp,
                    speedup=speedup,
                    speedup_min=baseline / sp.maximum if baseline else None,
                    speedup_max=baseline / sp.minimum if baseline else None,
                    efficiency=efficiency(speedup, w) if speedup is not None else None,
                    karp_flatt=karp_flatt(speedup, w) if speedup is not None else None,
                )
            )
        # Fitted to the medians, like the table: one repetition slowed by another tenant must not drag the fit.
        fit = None
        if backend != BASELINE_BACKEND:
            fit = amdahl_fit(list(spreads), [sp.median for sp in spreads.values()])
        result.append(Series(backend, implementation, baseline, baseline_label, points, fit, group))
    return result
