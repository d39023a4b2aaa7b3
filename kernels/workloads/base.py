"""The workload contract: a schema, split → units, a unit function (python and native), combine, verify."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kernels.params import Param, validate

BACKENDS = ("sequential", "threads", "processes", "subprocesses", "mpi")
IMPLEMENTATIONS = ("python", "native")


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


class NativeUnavailable(RuntimeError):
    pass


class Workload:
    """Base class; a workload module defines one subclass and an instance named ``WORKLOAD``."""

    name: str = ""
    title: str = ""
    description: str = ""
    params: tuple[Param, ...] = ()
    backends: tuple[str, ...] = BACKENDS
    implementations: tuple[str, ...] = IMPLEMENTATIONS
    # The mpi4py program that runs this workload under mpiexec.
    mpi_program: str = "kernels.mpi.units"

    def validate(self, raw: dict[str, Any] | None) -> dict[str, Any]:
        return validate(self.params, raw)

    def supports(self, backend: str, implementation: str) -> bool:
        return backend in self.backends and implementation in self.implementations

    def split(self, params: dict[str, Any], workers: int) -> list[Any]:
        raise NotImplementedError

    def max_workers(self, params: dict[str, Any]) -> int:
        """The most workers these parameters can keep busy."""
        return 256

    def total_units(self, params: dict[str, Any], workers: int, backend: str) -> int:
        """How many unit-done events a run reports (MPI programs may report per rank)."""
        return len(self.split(params, workers))

    def cost(self, unit: Any) -> float:
        """Relative cost, so backends can hand out the longest units first."""
        return 1.0

    def run_unit(self, unit: Any) -> Any:
        raise NotImplementedError

    def run_unit_native(self, unit: Any) -> Any:
        raise NativeUnavailable(f"{self.name} has no native implementation")

    def execute(self, implementation: str, unit: Any) -> Any:
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
