"""Explicit 2-D heat equation: a five-point stencil with a hot top edge.

Sequentially the whole grid is one unit; under MPI the rows are split across ranks that
exchange one halo row with each neighbour per step (kernels/mpi/heat.py); under OpenMP the
threads share each step's rows (kernels/native/heat.pyx), and hybrid does both.
"""

from __future__ import annotations

import hashlib
from typing import Any, NamedTuple

from kernels.params import Param, ParamError
from kernels.workloads.base import OPENMP_BACKENDS, Outcome, Verdict, Workload, failed, grown, load_native

ALPHA = 0.24  # diffusion number; the explicit scheme is stable for ≤ 0.25
HOT = 100.0
MAX_CELL_STEPS = 5 * 10**9
REPORTS = 10  # progress events per worker (rank or thread) over a parallel run
# Verification allows each cell 1e-10 × HOT from the exact solution (a line sum: that times its cells).
# Measured differences: ≤ 2.2e-11 per cell (2048², 1 step), ≤ 1.3e-12 (64², 100,000 steps).
TOLERANCE = 1e-10 * HOT


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


def report_steps(steps: int) -> list[int]:
    """The steps after which each worker reports: ``REPORTS`` evenly spaced, or every step when fewer."""
    return sorted({max(1, round(steps * (k + 1) / REPORTS)) for k in range(REPORTS)})


def simulate_native(rows: int, cols: int, steps: int, threads: int, board: Any, cancel: Any) -> Any:
    """``simulate`` by the C stencil with ``threads`` OpenMP threads, filling ``board`` at ``report_steps``."""
    grid = initial_grid(rows, cols)
    out = grid.copy()
    done = load_native("heat").simulate(grid, out, steps, ALPHA, threads, report_steps(steps), board, cancel)
    return grid if done % 2 == 0 else out


def summary(grid: Any) -> dict[str, Any]:
    """What a run reports: checksum, total heat and centre, and (for verification only) every row and
    column sum, so a cell that is off shows in its row and its column."""
    rows, cols = grid.shape
    return {
        "rows": rows,
        "cols": cols,
        "sha256": hashlib.sha256(grid.tobytes()).hexdigest(),
        "total_heat": float(grid.sum()),
        "center": float(grid[rows // 2, cols // 2]),
        "row_sums": grid.sum(axis=1).tolist(),
        "col_sums": grid.sum(axis=0).tolist(),
    }


LINES = ("row_sums", "col_sums")


class Grid(NamedTuple):
    """The one unit: the whole plate, ``steps`` steps of it."""

    rows: int
    cols: int
    steps: int


def exact_solution(rows: int, cols: int, steps: int) -> dict[str, Any]:
    """Row and column sums, total heat and centre of the grid after ``steps``, without stepping.

    The scheme is linear: on the interior u ← u + α(L·u + g), L the five-point Laplacian with zero
    edges and g the hot edge's inflow into the first interior row. Its eigenvectors are the sine
    modes φ_j(r)·ψ_k(c) = sin(πjr/(M+1))·sin(πkc/(N+1)), with eigenvalues μ = −4(sin²(πj/2(M+1)) +
    sin²(πk/2(N+1))); each mode's coefficient after n steps, from zero, is ĝ·(1 − λⁿ)/(−μ) with
    λ = 1 + αμ, the scheme's exact decay factor. Sums of sine modes are cheap: O(rows × cols), about
    five time steps of the run (0.17 s at 2048², measured).
    """
    import numpy as np

    m, n = rows - 2, cols - 2
    j, k = np.arange(1, m + 1), np.arange(1, n + 1)
    phi = np.sin(np.pi * np.outer(j, j) / (m + 1))  # phi[r-1, j-1] = φ_j(r)
    psi = np.sin(np.pi * np.outer(k, k) / (n + 1))
    # The inflow g = HOT on the first interior row, in the modes (the sine transform's factor 2/(M+1)).
    inflow = np.outer(2 / (m + 1) * HOT * phi[0], 2 / (n + 1) * psi.sum(axis=0))
    mu = -4 * (np.sin(np.pi * j / (2 * (m + 1)))[:, None] ** 2 + np.sin(np.pi * k / (2 * (n + 1)))[None, :] ** 2)
    lam = 1 + ALPHA * mu
    # 1 − λⁿ without cancellation where λ is near 1 (the slow modes), directly where λ ≤ 0 (fast ones).
    with np.errstate(invalid="ignore"):
        grown = np.where(lam > 0, -np.expm1(steps * np.log1p(ALPHA * mu)), 1 - lam**steps)
    modes = inflow * grown / -mu
    interior_rows = phi @ (modes @ psi.sum(axis=0))
    interior_cols = psi @ (modes.T @ phi.sum(axis=0))
    # The edges: the hot top row adds HOT to every column; the other edges are 0.
    row_sums = np.concatenate(([HOT * cols], interior_rows, [0.0]))
    col_sums = HOT + np.concatenate(([0.0], interior_cols, [0.0]))
    center = float(phi[rows // 2 - 1] @ modes @ psi[cols // 2 - 1])
    return {"row_sums": row_sums, "col_sums": col_sums, "total_heat": float(row_sums.sum()), "center": center}


class Heat(Workload[Grid]):
    name = "heat"
    title = "Heat equation stencil"
    description = "Explicit 5-point stencil on a rows × cols grid; under MPI ranks swap halo rows."
    params = (
        # 2048 × 2048 float64 grids, with NumPy's temporaries, stay near 200 MB (4096² measured 540 MB).
        Param("rows", "int", 512, 8, 2048, "grid rows"),
        Param("cols", "int", 512, 8, 2048, "grid columns"),
        Param("steps", "int", 500, 1, 100_000, "time steps"),
    )
    backends = ("sequential", "mpi", *OPENMP_BACKENDS)
    mpi_program = "kernels.mpi.heat"

    def validate(self, raw: dict[str, Any] | None) -> dict[str, Any]:
        params = super().validate(raw)
        work = params["rows"] * params["cols"] * params["steps"]
        if work > MAX_CELL_STEPS:
            raise ParamError("steps", f"rows × cols × steps must be at most {MAX_CELL_STEPS:_}, got {work:_}")
        return params

    def split(self, params: dict[str, Any], workers: int) -> list[Grid]:
        return [Grid(params["rows"], params["cols"], params["steps"])]

    def unit_from_wire(self, raw: Any) -> Grid:
        return Grid(*raw)

    def work(self, params: dict[str, Any]) -> float:
        return float(params["rows"] * params["cols"] * params["steps"])  # every cell, every step

    def scaled(self, params: dict[str, Any], factor: float) -> dict[str, Any]:
        # More steps of the same plate: the cost is linear in them, and the grid (memory, the ranks it
        # can keep busy) stays as chosen.
        steps, cells = params["steps"], params["rows"] * params["cols"]
        top = min(int(self.params[2].maximum), MAX_CELL_STEPS // cells)
        return {**params, "steps": grown(steps, factor, top)}

    def max_workers(self, params: dict[str, Any]) -> int:
        return params["rows"] - 2  # each rank needs at least one interior row

    def total_units(self, params: dict[str, Any], workers: int, backend: str) -> int:
        # Each rank (mpi), thread (openmp) or both (hybrid) reports at ``report_steps``.
        return workers * len(report_steps(params["steps"])) if backend != "sequential" else 1

    def run_unit(self, unit: Grid) -> Any:
        return summary(simulate(*unit))

    def run_unit_native(self, unit: Grid) -> Any:
        import numpy as np

        rows, cols, steps = unit
        board = np.zeros((len(report_steps(steps)), 5))  # nobody watches one thread's progress here
        return summary(simulate_native(rows, cols, steps, 1, board, np.zeros(1, dtype=np.int32)))

    def run_openmp(self, params: dict[str, Any], units: list[Grid], threads: int, board: Any, cancel: Any) -> list[Any]:
        # The threads share each step's rows; a stretch of steps between reports is one event per thread.
        (rows, cols, steps), *_ = units  # split's one unit: the whole grid
        return [summary(simulate_native(rows, cols, steps, threads, board, cancel))]

    def combine(self, params: dict[str, Any], results: list[Any]) -> Outcome:
        # The line sums are for verify (which gets ``results``); the stored result stays small.
        return Outcome({key: value for key, value in results[0].items() if key not in LINES})

    def verify(self, params: dict[str, Any], value: Any, results: list[Any]) -> Verdict:
        rows, cols, steps = params["rows"], params["cols"], params["steps"]
        exact = exact_solution(rows, cols, steps)
        reference = f"the exact solution of the explicit scheme (sine modes × (1 + αμ)^{steps})"
        got = results[0] if results else {}
        if any(len(got.get(name) or ()) != len(exact[name]) for name in LINES):
            return failed(f"the run reported no {rows} row and {cols} column sums to compare")
        # Each quantity with its tolerance: TOLERANCE for each cell it adds up.
        checks = [("total heat", value["total_heat"], exact["total_heat"], TOLERANCE * rows * cols),
                  ("the centre", value["center"], exact["center"], TOLERANCE)]  # fmt: skip
        checks += [
            (f"row {r}'s sum", g, e, TOLERANCE * cols)
            for r, (g, e) in enumerate(zip(got["row_sums"], exact["row_sums"], strict=True))
        ]
        checks += [
            (f"column {c}'s sum", g, e, TOLERANCE * rows)
            for c, (g, e) in enumerate(zip(got["col_sums"], exact["col_sums"], strict=True))
        ]
        off = [(name, g, e, tol) for name, g, e, tol in checks if not abs(g - e) <= tol]
        if off:
            name, g, e, tol = off[0]
            return failed(
                f"{name} is {g:.12g}, {reference} gives {e:.12g} (allowed ±{tol:.2g}); "
                f"{len(off)} of {len(checks)} checked values differ"
            )
        worst = max(abs(g - e) / tol for _, g, e, tol in checks) * TOLERANCE  # per cell added up
        return Verdict(
            True,
            f"all {rows} row and {cols} column sums, the total heat and the centre equal {reference} within "
            f"{TOLERANCE:.0e} per cell (largest difference {worst:.1e} per cell)",
        )


WORKLOAD = Heat()
