"""Monte Carlo π with counter-based random numbers, so every backend and worker count agrees."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from kernels.params import Param
from kernels.workloads.base import Outcome, Verdict, Workload, failed, grown, load_native

# Units have a fixed size, never derived from the worker count: the partition (and so the
# answer) is the same for W = 1, 2, 3…
UNIT_SAMPLES = 1_000_000
CHUNK = 1 << 18  # NumPy works in slices of this many samples to bound memory

MASK = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


class Samples(NamedTuple):
    """The unit: samples [start, stop) of the stream ``key``."""

    key: int
    start: int
    stop: int


def stream_key(seed: int) -> int:
    """Spread small seeds over 64 bits so neighbouring seeds give unrelated streams."""
    return seed * GOLDEN & MASK


def count_inside(key: int, start: int, stop: int) -> int:
    """Samples k in [start, stop) with x_k² + y_k² ≤ 1, x_k = U(key ^ 2k), y_k = U(key ^ 2k+1)."""
    import numpy as np

    u64 = np.uint64
    inside = 0
    for lo in range(start, stop, CHUNK):
        k = np.arange(lo, min(lo + CHUNK, stop), dtype=u64)
        x = _uniform(np.bitwise_xor(u64(key), k * u64(2)))
        y = _uniform(np.bitwise_xor(u64(key), k * u64(2) + u64(1)))
        inside += int(np.count_nonzero(x * x + y * y <= 1.0))
    return inside


def _uniform(counter: Any) -> Any:
    """SplitMix64's output function (Steele et al. 2014) of a counter, as a double in [0, 1)."""
    import numpy as np

    u64 = np.uint64
    with np.errstate(over="ignore"):
        z = counter + u64(GOLDEN)
        z = (z ^ (z >> u64(30))) * u64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> u64(27))) * u64(0x94D049BB133111EB)
        z = z ^ (z >> u64(31))
    return (z >> u64(11)).astype(np.float64) * (1.0 / (1 << 53))


class MonteCarloPi(Workload[Samples]):
    name = "montecarlo_pi"
    title = "Monte Carlo π"
    description = "Estimates π from N random points in the unit square; units of 10^6 samples."
    params = (
        Param("samples", "int", 20_000_000, 1_000, 2_000_000_000, "number of random points"),
        Param("seed", "int", 2026, 0, 2**32 - 1, "random seed"),
    )

    def split(self, params: dict[str, Any], workers: int) -> list[Samples]:
        key, n = stream_key(params["seed"]), params["samples"]
        return [Samples(key, lo, min(lo + UNIT_SAMPLES, n)) for lo in range(0, n, UNIT_SAMPLES)]

    def unit_from_wire(self, raw: Any) -> Samples:
        return Samples(*raw)

    def work(self, params: dict[str, Any]) -> float:
        return float(params["samples"])  # each sample costs the same; units differ only at the end

    def scaled(self, params: dict[str, Any], factor: float) -> dict[str, Any]:
        samples = params["samples"]
        top = int(self.params[0].maximum)
        return {**params, "samples": grown(samples, factor, top)}

    def describe_unit(self, unit: Samples) -> str:
        return f"samples {unit.start:,}–{unit.stop - 1:,}"

    def run_unit(self, unit: Samples) -> int:
        return count_inside(*unit)

    def run_unit_native(self, unit: Samples) -> int:
        return load_native("montecarlo").count_inside(*unit)

    def combine(self, params: dict[str, Any], results: list[Any]) -> Outcome:
        n, hits = params["samples"], sum(results)
        p = hits / n
        return Outcome(
            {
                "samples": n,
                "inside": hits,
                "estimate": 4 * p,
                "std_error": 4 * math.sqrt(p * (1 - p) / n),
            }
        )

    def verify(self, params: dict[str, Any], value: Any, results: list[Any]) -> Verdict:
        # Against π itself, not against another run of this sampler: a biased generator or a lost or
        # double-counted unit moves the estimate by many standard errors at these sample sizes.
        n, inside = params["samples"], value["inside"]
        if inside != sum(results) or not 0 <= inside <= n or value["estimate"] != 4 * inside / n:
            return failed(f"the estimate 4 × {inside}/{n} does not add up from the {len(results)} units' counts")
        error = abs(value["estimate"] - math.pi)
        # 5 standard errors: a correct sampler fails this about once in 1.7 million seeds.
        detail = f"|estimate − π| = {error:.3g}, {error / value['std_error']:.2f} standard errors (at most 5 allowed)"
        if error <= 5 * value["std_error"]:
            return Verdict(True, detail)
        return failed(detail)


WORKLOAD = MonteCarloPi()
