"""The seed's example: naive recursive Fibonacci over a list, slow on purpose."""

from __future__ import annotations

from typing import Any

from kernels.params import Param
from kernels.workloads.base import Outcome, Verdict, Workload, load_native

SEED_NS = [38, 37, 36, 35, 34, 33]


def fib(n: int) -> int:
    """computing the Fibonacci in an inefficient way was chosen to slow down the CPU."""
    if n <= 2:
        return 1
    return fib(n - 1) + fib(n - 2)


def fib_closed(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


class Fib(Workload):
    name = "fib"
    title = "Fibonacci list (the seed's Pool.map example)"
    description = "Naive recursive fib(n) for each n in a list; one unit per n."
    params = (Param("ns", "int_list", SEED_NS, 1, 40, "values of n, each computed naively", max_items=64),)
    backends = ("sequential", "threads", "processes", "subprocesses", "mpi")

    def split(self, params: dict[str, Any], workers: int) -> list[Any]:
        return list(params["ns"])

    def cost(self, unit: Any) -> float:
        return 1.618**unit

    def run_unit(self, unit: Any) -> Any:
        return fib(unit)

    def run_unit_native(self, unit: Any) -> Any:
        return load_native("fib").fib(unit)

    def combine(self, params: dict[str, Any], results: list[Any]) -> Outcome:
        return Outcome(results)

    def verify(self, params: dict[str, Any], value: Any, results: list[Any]) -> Verdict:
        expected = [fib_closed(n) for n in params["ns"]]
        if value == expected:
            return Verdict(True, "equals the closed-form Fibonacci numbers")
        return Verdict(False, f"expected {expected}")


WORKLOAD = Fib()
