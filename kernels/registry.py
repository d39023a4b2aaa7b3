"""Workloads by name, and the backends they may run on."""

from __future__ import annotations

from kernels.workloads import fib, heat, mandelbrot, montecarlo_pi, mpi_ring, primes
from kernels.workloads.base import BACKENDS, IMPLEMENTATIONS, Workload

WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        fib.WORKLOAD,
        primes.WORKLOAD,
        montecarlo_pi.WORKLOAD,
        mandelbrot.WORKLOAD,
        heat.WORKLOAD,
        mpi_ring.WORKLOAD,
    )
}

__all__ = ["BACKENDS", "IMPLEMENTATIONS", "WORKLOADS", "get_workload"]


class UnknownWorkload(ValueError):
    pass


def get_workload(name: str) -> Workload:
    try:
        return WORKLOADS[name]
    except KeyError:
        raise UnknownWorkload(f"unknown workload {name!r}; choose one of {', '.join(WORKLOADS)}") from None
