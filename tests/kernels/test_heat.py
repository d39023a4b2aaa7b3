"""The heat stencil: heat flows in from the hot edge, and the checksum is the sequential run's."""

from __future__ import annotations

from kernels.engine import RunRequest, run
from kernels.workloads.heat import HOT, simulate


def test_heat_spreads_from_the_hot_edge_and_stays_bounded():
    grid = simulate(20, 20, 50)
    assert (grid[0] == HOT).all()
    assert grid[1, 10] > grid[5, 10] > grid[10, 10] >= 0
    assert grid.max() <= HOT


def test_a_sequential_run_verifies_and_reports_the_grid():
    result = run(RunRequest("heat", {"rows": 30, "cols": 20, "steps": 40}))
    assert result.verified is True
    assert (result.value["rows"], result.value["cols"]) == (30, 20)
    assert result.value["total_heat"] == float(simulate(30, 20, 40).sum())


def test_large_grids_are_not_rerun_as_a_reference():
    from kernels.workloads.heat import WORKLOAD

    verdict = WORKLOAD.verify({"rows": 2048, "cols": 2048, "steps": 50}, {"sha256": ""}, [])
    assert (verdict.ok, verdict.detail) == (None, "grid too large to re-run as a reference")
