"""Explicit 2-D heat equation: a five-point stencil with a hot top edge.

Sequentially the whole grid is one unit; under MPI the rows are split across ranks that
exchange one halo row with each neighbour per step (kernels/mpi/heat.py).
"""

from __future__ import annotations

import hashlib
from typing import Any

from kernels.params import Param, ParamError
from kernels.workloads.base import Outcome, Verdict, Workload

ALPHA = 0.24  # diffusion number; the explicit scheme is stable for ≤ 0.25
HOT = 100.0
MAX_CELL_STEPS = 5 * 10**9
REFERENCE_CELL_STEPS = 2 * 10**8


def initial_grid(rows: int, cols: int) -> Any:
    import numpy as np

    grid = np.zeros((rows, cols), dtype=np.float64)
    grid[0, :] = HOT
    return grid


def step(grid: Any, out: Any) -> None:
    """One explicit step on the interior of ``grid`` into ``out``; boundary rows/cols are kept.

    The MPI ranks call this on their slab with halo rows, so the arithmetic per cell (and
    therefore every bit of the result) is the same as in the sequential run.
    """
    c = grid[1:-1, 1:-1]
    out[1:-1, 1:-1] = c + ALPHA * (grid[:-2, 1:-1] + grid[2:, 1:-1] + grid[1:-1, :-2] + grid[1:-1, 2:] - 4.0 * c)


def simulate(rows: int, cols: int, steps: int) -> Any:
    grid = initial_grid(rows, cols)
    out = grid.copy()
    for _ in range(steps):
        step(grid, out)
        grid, out = out, grid
    return grid


def summary(grid: Any) -> dict[str, Any]:
    rows, cols = grid.shape
    return {
        "rows": rows,
        "cols": cols,
        "sha256": hashlib.sha256(grid.tobytes()).hexdigest(),
        "total_heat": float(grid.sum()),
        "center": float(grid[rows // 2, cols // 2]),
    }


class Heat(Workload):
    name = "heat"
    title = "Heat equation stencil"
    description = "Explicit 5-point stencil on a rows × cols grid; under MPI ranks swap halo rows."
    params = (
        # 2048 × 2048 float64 grids, with NumPy's temporaries, stay near 200 MB (4096² measured 540 MB).
        Param("rows", "int", 512, 8, 2048, "grid rows"),
        Param("cols", "int", 512, 8, 2048, "grid columns"),
        Param("steps", "int", 500, 1, 100_000, "time steps"),
    )
    backends = ("sequential", "mpi")
    implementations = ("python",)
    mpi_program = "kernels.mpi.heat"

    def validate(self, raw: dict[str, Any] | None) -> dict[str, Any]:
        params = super().validate(raw)
        work = params["rows"] * params["cols"] * params["steps"]
        if work > MAX_CELL_STEPS:
            raise ParamError("steps", f"rows × cols × steps must be at most {MAX_CELL_STEPS:_}, got {work:_}")
        return params

    def split(self, params: dict[str, Any], workers: int) -> list[Any]:
        return [[params["rows"], params["cols"], params["steps"]]]

    def max_workers(self, params: dict[str, Any]) -> int:
        return params["rows"] - 2  # each rank needs at least one interior row

    def total_units(self, params: dict[str, Any], workers: int, backend: str) -> int:
        # kernels/mpi/heat.py: each rank reports ten times over the run, or after every step when there are fewer.
        return workers * min(10, params["steps"]) if backend == "mpi" else 1

    def run_unit(self, unit: Any) -> Any:
        return summary(simulate(*unit))

    def combine(self, params: dict[str, Any], results: list[Any]) -> Outcome:
        return Outcome(results[0])

    def verify(self, params: dict[str, Any], value: Any, results: list[Any]) -> Verdict:
        p = params
        if p["rows"] * p["cols"] * p["steps"] > REFERENCE_CELL_STEPS:
            return Verdict(None, "grid too large to re-run as a reference")
        expected = summary(simulate(p["rows"], p["cols"], p["steps"]))["sha256"]
        if value["sha256"] == expected:
            return Verdict(True, "checksum equals the sequential NumPy run")
        return Verdict(False, f"checksum differs from the sequential run ({expected[:12]}…)")


WORKLOAD = Heat()
