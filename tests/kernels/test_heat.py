"""The heat stencil: heat flows in from the hot edge, and every row and column agrees with the scheme's exact
solution by sine modes (no re-run of the stencil)."""

from __future__ import annotations

import pytest

from kernels.engine import RunRequest, check_request, run
from kernels.workloads.heat import HOT, TOLERANCE, WORKLOAD, exact_solution, simulate, summary


def test_heat_spreads_from_the_hot_edge_and_stays_bounded():
    grid = simulate(20, 20, 50)
    assert (grid[0] == HOT).all()
    assert grid[1, 10] > grid[5, 10] > grid[10, 10] >= 0
    assert grid.max() <= HOT


def test_a_sequential_run_verifies_and_reports_the_grid():
    result = run(check_request(RunRequest("heat", {"rows": 30, "cols": 20, "steps": 40})))
    assert result.verified is True
    assert (result.value["rows"], result.value["cols"]) == (30, 20)
    assert result.value["total_heat"] == float(simulate(30, 20, 40).sum())


@pytest.mark.parametrize(("rows", "cols", "steps"), [(8, 8, 1), (40, 24, 30), (33, 70, 2000), (16, 16, 20_000)])
def test_the_exact_solution_matches_the_stepped_grid_cell_for_cell(rows, cols, steps):
    import numpy as np

    grid = simulate(rows, cols, steps)
    exact = exact_solution(rows, cols, steps)
    assert np.abs(grid.sum(axis=1) - exact["row_sums"]).max() <= TOLERANCE * cols / 100  # 100× inside the tolerance
    assert np.abs(grid.sum(axis=0) - exact["col_sums"]).max() <= TOLERANCE * rows / 100
    assert abs(grid[rows // 2, cols // 2] - exact["center"]) <= TOLERANCE / 100
    assert abs(grid.sum() - exact["total_heat"]) <= TOLERANCE * rows * cols / 100


RUNS_ON = [(b, i) for b in WORKLOAD.backends for i in WORKLOAD.implementations if WORKLOAD.supports(b, i)]


@pytest.mark.parametrize("workers", [1, 2, 3])
@pytest.mark.parametrize(("backend", "implementation"), RUNS_ON, ids=["-".join(c) for c in RUNS_ON])
def test_every_backend_agrees_with_the_exact_solution(backend, implementation, workers):
    if backend == "sequential" and workers > 1:
        pytest.skip("the sequential backend runs with one worker")
    result = run(
        check_request(RunRequest("heat", {"rows": 40, "cols": 24, "steps": 30}, backend, implementation, workers))
    )
    assert result.verified is True, result.verification
    assert result.verification.startswith(
        "all 40 row and 24 column sums, the total heat and the centre equal the exact solution of the explicit "
        "scheme (sine modes × (1 + αμ)^30) within 1e-08 per cell (largest difference "
    )
    assert "row_sums" not in result.value  # for verification only; the stored result stays small


def test_a_grid_off_by_more_than_the_tolerance_fails_verification():
    params = {"rows": 40, "cols": 24, "steps": 30}
    grid = simulate(40, 24, 30)
    assert WORKLOAD.verify(params, summary(grid), [summary(grid)]).ok is True
    grid[20, 7] += 3 * TOLERANCE * 24  # one cell, three times what its row sum may be off by
    verdict = WORKLOAD.verify(params, summary(grid), [summary(grid)])
    assert verdict.ok is False
    assert verdict.detail.startswith("verification failed: row 20's sum is ")
    assert "the exact solution of the explicit scheme (sine modes × (1 + αμ)^30) gives " in verdict.detail
    assert verdict.detail.endswith("(allowed ±2.4e-07); 2 of 66 checked values differ")  # its row and its column
    grid = simulate(40, 24, 31)  # one step too many: every interior line is off
    verdict = WORKLOAD.verify(params, summary(grid), [summary(grid)])
    assert verdict.ok is False and verdict.detail.startswith("verification failed: total heat is ")
