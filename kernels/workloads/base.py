"""The workload contract: a schema, split → units, a unit function (python and native), combine, verify."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from kernels.params import Param, validate

# Backends that run any workload's units; openmp and hybrid (MPI ranks × OpenMP threads) run a
# workload's own OpenMP kernel (``run_openmp``), compiled code only: Python would hold the GIL.
UNIT_BACKENDS = ("sequential", "threads", "processes", "subprocesses", "mpi")
OPENMP_BACKENDS = ("openmp", "hybrid")
BACKENDS = UNIT_BACKENDS + OPENMP_BACKENDS
IMPLEMENTATIONS = ("python", "native")

# One unit of work: a NamedTuple of JSON values (or a plain int) per workload, so it crosses the wire
# (kernels/wire.py) as the JSON list it always was and comes back through ``unit_from_wire``.
Unit = TypeVar("Unit")


@dataclass
class Outcome:
    """What a workload hands back: a JSON-able value and named binary artifacts (e.g. a PNG)."""

    value: Any
    artifacts: dict[str, bytes] = field(default_factory=dict)


@dataclass
class Verdict:
    """``ok`` is True/False, or None when no reference exists for these parameters."""

    ok: bool | None
    detail: str


def failed(detail: str) -> Verdict:
    """A result that does not match its reference; every place that shows the job says "verification failed"."""
    return Verdict(False, f"verification failed: {detail}")


class NativeUnavailable(RuntimeError):
    pass


class Workload(Generic[Unit]):
    """Base class; a workload module defines one subclass and an instance named ``WORKLOAD``."""

    name: str = ""
    title: str = ""
    description: str = ""
    params: tuple[Param, ...] = ()
    backends: tuple[str, ...] = UNIT_BACKENDS
    implementations: tuple[str, ...] = IMPLEMENTATIONS
    # The mpi4py program that runs this workload under mpiexec.
    mpi_program: str = "kernels.mpi.units"

    def validate(self, raw: dict[str, Any] | None) -> dict[str, Any]:
        return validate(self.params, raw)

    def supports(self, backend: str, implementation: str) -> bool:
        if backend in OPENMP_BACKENDS and implementation != "native":
            return False
        return backend in self.backends and implementation in self.implementations

    def split(self, params: dict[str, Any], workers: int) -> list[Unit]:
        raise NotImplementedError

    def unit_from_wire(self, raw: Any) -> Unit:
        """A unit as read back from JSON, where a NamedTuple is a list."""
        return raw

    def unit_labels(self, params: dict[str, Any], workers: int, backend: str) -> list[str]:
        """What each reported unit is, for lanes and tooltips ("fib(37)", "rows 0–15"); [] when there
        is nothing to say beyond its number (units reported per rank and step, say)."""
        if self.total_units(params, workers, backend) != len(self.split(params, workers)):
            return []
        return [self.describe_unit(unit) for unit in self.split(params, workers)]

    def describe_unit(self, unit: Unit) -> str:
        return ""

    def max_workers(self, params: dict[str, Any]) -> int:
        """The most workers these parameters can keep busy."""
        return 256

    def total_units(self, params: dict[str, Any], workers: int, backend: str) -> int:
        """How many unit-done events a run reports (MPI programs may report per rank)."""
        return len(self.split(params, workers))

    def cost(self, unit: Unit) -> float:
        """Relative cost, so backends can hand out the longest units first."""
        return 1.0

    def work(self, params: dict[str, Any]) -> float:
        """Predicted cost of a whole sequential run, in the unit of ``cost``: the ratio of two sizes'
        work predicts the ratio of their baselines (kernels/calibration.py)."""
        return sum(self.cost(unit) for unit in self.split(params, 1))

    def scaled(self, params: dict[str, Any], factor: float) -> dict[str, Any]:
        """Valid parameters whose ``work`` is about ``factor`` times that of ``params`` (at least that, where
        the steps of a parameter allow), or the most the parameter bounds allow; ``params`` for a factor ≤ 1.

        A workload that cannot grow (no size parameter) returns ``params``, which says so.
        """
        return dict(params)

    def run_unit(self, unit: Unit) -> Any:
        raise NotImplementedError

    def run_unit_native(self, unit: Unit) -> Any:
        raise NativeUnavailable(f"{self.name} has no native implementation")

    def run_openmp(self, params: dict[str, Any], units: list[Unit], threads: int, board: Any, cancel: Any) -> list[Any]:
        """Every unit's result, computed by ``threads`` OpenMP threads in one native call that releases the GIL.

        The kernel marks events on ``board`` as they happen (kernels/native/board.pxd; ``total_units``
        events) and starts no new work once ``cancel[0]`` is set. Workloads that offer the openmp and
        hybrid backends implement it.
        """
        raise NativeUnavailable(f"{self.name} has no OpenMP kernel")

    def execute(self, implementation: str, unit: Unit) -> Any:
        if implementation == "native":
            return self.run_unit_native(unit)
        return self.run_unit(unit)

    def combine(self, params: dict[str, Any], results: list[Any]) -> Outcome:
        return Outcome(results)

    def verify(self, params: dict[str, Any], value: Any, results: list[Any]) -> Verdict:
        return Verdict(None, "no reference check")

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "params": [p.as_schema() for p in self.params],
            "backends": list(self.backends),
            "implementations": list(self.implementations),
        }


def load_native(module: str) -> Any:
    """Import a compiled Cython module, or say how to build it."""
    import importlib

    try:
        return importlib.import_module(f"kernels.native.{module}")
    except ImportError as exc:
        raise NativeUnavailable(
            f"native extension kernels.native.{module} is not built ({exc}); run `make install`"
        ) from exc


def grown(value: int, factor: float, top: int) -> int:
    """``value`` × ``factor`` rounded up, at most ``top``, never less than ``value``: one size parameter of a
    workload's ``scaled``."""
    return max(value, min(top, math.ceil(value * factor)))
