"""The seed's example: naive recursive Fibonacci over a list, slow on purpose."""

from __future__ import annotations

from typing import Any

from kernels.params import Param
from kernels.workloads.base import Outcome, Verdict, Workload, failed, load_native

SEED_NS = [38, 37, 36, 35, 34, 33]


def fib(n: int) -> int:
    """computing the Fibonacci in an inefficient way was chosen to slow down the CPU."""
    if n <= 2:
        return 1
    return fib(n - 1) + fib(n - 2)


def fib_exact(n: int) -> int:
    """F(n) by fast doubling in exact integers: F(2k) = F(k)(2F(k+1) − F(k)), F(2k+1) = F(k)² + F(k+1)².

    An identity, not the naive recursion nor an addition loop: O(log n) steps, read off n's bits.
    """
    a, b = 0, 1  # F(k), F(k+1) for k = the bits of n read so far
    for bit in bin(n)[2:]:
        a, b = a * (2 * b - a), a * a + b * b
        if bit == "1":
            a, b = b, a + b
    return a


class Fib(Workload[int]):  # a unit is n
    name = "fib"
    title = "Fibonacci list (the seed's Pool.map example)"
    description = "Naive recursive fib(n) for each n in a list; one unit per n."
    params = (Param("ns", "int_list", SEED_NS, 1, 40, "values of n, each computed naively", max_items=64),)
    backends = ("sequential", "threads", "processes", "subprocesses", "mpi")

    def split(self, params: dict[str, Any], workers: int) -> list[int]:
        return list(params["ns"])

    def cost(self, unit: int) -> float:
        return 1.618**unit

    def scaled(self, params: dict[str, Any], factor: float) -> dict[str, Any]:
        # Every n one step larger costs φ× more: the smallest common shift that reaches the factor,
        # each n at most the bound (the list keeps its shape until its largest values meet the bound).
        top = int(self.params[0].maximum)
        ns, target = list(params["ns"]), factor * self.work(params)
        shifted = ns
        for shift in range(top):
            shifted = [min(top, n + shift) for n in ns]
            if self.work({"ns": shifted}) >= target:
                break
        return {**params, "ns": shifted}

    def describe_unit(self, unit: int) -> str:
        return f"fib({unit})"

    def run_unit(self, unit: int) -> int:
        return fib(unit)

    def run_unit_native(self, unit: int) -> int:
        return load_native("fib").fib(unit)

    def combine(self, params: dict[str, Any], results: list[Any]) -> Outcome:
        return Outcome(results)

    def verify(self, params: dict[str, Any], value: Any, results: list[Any]) -> Verdict:
        expected = [fib_exact(n) for n in params["ns"]]
        reference = "F(n) by exact integer fast doubling"
        if len(value) != len(expected):
            return failed(f"{len(value)} values for {len(expected)} values of n")
        wrong = [(n, got, want) for n, got, want in zip(params["ns"], value, expected, strict=True) if got != want]
        if wrong:
            n, got, want = wrong[0]
            return failed(
                f"fib({n}) = {got}, but {reference} gives {want}; {len(wrong)} of {len(expected)} values differ"
            )
        return Verdict(True, f"all {len(expected)} values equal {reference}")


WORKLOAD = Fib()
