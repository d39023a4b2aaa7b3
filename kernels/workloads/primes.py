"""Count the primes ≤ N with a segmented sieve of Eratosthenes; segments are the units."""

from __future__ import annotations

import math
from typing import Any

from kernels.params import Param
from kernels.workloads.base import Outcome, Verdict, Workload, load_native

# π(10^k), OEIS A006880.
PUBLISHED_PI = {
    10: 4,
    100: 25,
    1_000: 168,
    10_000: 1_229,
    100_000: 9_592,
    1_000_000: 78_498,
    10_000_000: 664_579,
    100_000_000: 5_761_455,
    1_000_000_000: 50_847_534,
}
# A segment's sieve is one byte per number: 2^21 keeps each unit's memory at 2 MB.
SEGMENT = 1 << 21
MAX_UNITS = 512
# Above this the plain reference sieve would cost more memory than we allow.
REFERENCE_LIMIT = 50_000_000


def base_primes(limit: int) -> list[int]:
    """Primes ≤ limit (limit ≤ √N, so tiny)."""
    sieve = bytearray([1]) * (limit + 1)
    sieve[0:2] = b"\x00\x00"[: min(2, limit + 1)]
    for p in range(2, math.isqrt(limit) + 1):
        if sieve[p]:
            sieve[p * p :: p] = bytes(len(range(p * p, limit + 1, p)))
    return [i for i, flag in enumerate(sieve) if flag]


def count_segment(lo: int, hi: int) -> int:
    """Number of primes in [lo, hi)."""
    lo = max(lo, 2)
    if hi <= lo:
        return 0
    sieve = bytearray([1]) * (hi - lo)
    for p in base_primes(math.isqrt(hi - 1)):
        start = max(p * p, (lo + p - 1) // p * p)
        if start < hi:
            sieve[start - lo :: p] = bytes(len(range(start, hi, p)))
    return sieve.count(1)


def reference_count(n: int) -> int:
    import numpy as np

    sieve = np.ones(n + 1, dtype=bool)
    sieve[:2] = False
    for p in range(2, math.isqrt(n) + 1):
        if sieve[p]:
            sieve[p * p :: p] = False
    return int(sieve.sum())


class Primes(Workload):
    name = "primes"
    title = "Prime count π(N)"
    description = "Counts primes ≤ N with a segmented sieve; each segment is a unit."
    params = (Param("n", "int", 10_000_000, 10, 1_000_000_000, "count primes ≤ n"),)

    def split(self, params: dict[str, Any], workers: int) -> list[Any]:
        n = params["n"]
        # Enough units to balance W workers and show progress, few enough to keep overhead low.
        count = min(MAX_UNITS, max(4 * workers, math.ceil((n + 1) / SEGMENT)))
        step = math.ceil((n + 1) / count)
        return [[lo, min(lo + step, n + 1)] for lo in range(0, n + 1, step)]

    def cost(self, unit: Any) -> float:
        return float(unit[1] - unit[0])

    def run_unit(self, unit: Any) -> Any:
        return count_segment(unit[0], unit[1])

    def run_unit_native(self, unit: Any) -> Any:
        return load_native("primes").count_segment(unit[0], unit[1])

    def combine(self, params: dict[str, Any], results: list[Any]) -> Outcome:
        return Outcome({"n": params["n"], "count": sum(results)})

    def verify(self, params: dict[str, Any], value: Any, results: list[Any]) -> Verdict:
        n = params["n"]
        if n in PUBLISHED_PI:
            expected, source = PUBLISHED_PI[n], "the published π(10^k) (OEIS A006880)"
        elif n <= REFERENCE_LIMIT:
            expected, source = reference_count(n), "a plain NumPy sieve"
        else:
            return Verdict(None, f"no reference for n={n} above {REFERENCE_LIMIT:_}")
        if value["count"] == expected:
            return Verdict(True, f"equals {source}: {expected}")
        return Verdict(False, f"expected {expected} from {source}")


WORKLOAD = Primes()
