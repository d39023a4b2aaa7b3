"""Hybrid's default layout (kernels/backends/hybrid.py): counted on the host that runs the ranks
(kernels/cores.py), sensible and valid at any core count, and recorded in the run's result."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from kernels.backends.hybrid import layout_text, threads_per_rank
from kernels.cores import usable_cores
from kernels.slurm import job_environment

ROOT = Path(__file__).resolve().parents[2]
CORE_COUNTS = (1, 4, 16, 64, 128)


@pytest.mark.parametrize("cores", CORE_COUNTS)
@pytest.mark.parametrize("workers", range(1, 65))
def test_the_default_is_valid_and_takes_as_few_ranks_as_fit_the_cores(workers, cores):
    threads = threads_per_rank(workers, None, cores)
    assert workers % threads == 0 and 1 <= threads <= min(workers, cores)  # a layout the run accepts
    assert threads_per_rank(workers, threads) == threads  # and the engine's own check passes it
    # Fewest ranks: no larger divisor of the workers fits in a host's cores.
    assert not [t for t in range(threads + 1, min(workers, cores) + 1) if workers % t == 0]


@pytest.mark.parametrize(
    ("workers", "cores", "layout"),
    [(8, 1, (8, 1)), (8, 4, (2, 4)), (8, 16, (1, 8)), (8, 64, (1, 8)), (8, 128, (1, 8)), (64, 16, (4, 16)),
     (64, 128, (1, 64)), (6, 4, (2, 3)), (7, 4, (7, 1)), (48, 16, (3, 16)), (48, 64, (1, 48))],
)  # fmt: skip
def test_the_default_layouts_a_user_would_pick(workers, cores, layout):
    threads = threads_per_rank(workers, None, cores)
    assert (workers // threads, threads) == layout


def test_usable_cores_are_the_affinity_mask_unless_the_deployment_says(monkeypatch):
    monkeypatch.delenv("PARALAB_CORES", raising=False)
    assert usable_cores() == len(os.sched_getaffinity(0))
    monkeypatch.setenv("PARALAB_CORES", "128")
    assert usable_cores() == 128
    for junk in ("0", "-4", "many", "2.5", ""):  # not a core count: the host's own
        monkeypatch.setenv("PARALAB_CORES", junk)
        assert usable_cores() == len(os.sched_getaffinity(0))


def test_a_slurm_job_counts_the_cores_of_its_node_not_the_workers():
    # The engine of a Slurm job runs on the node it got: the worker's PARALAB_CORES says nothing of that node.
    environ = {"PATH": "/usr/bin", "PARALAB_CORES": "4"}
    assert job_environment(environ, "hybrid") == {"PATH": "/usr/bin"}


def test_the_layout_in_words():
    ran = {"ranks": 8, "threads": 1, "chosen": "default", "cores": 1, "host": "node-1"}
    assert layout_text(8, None, ran) == "8 MPI ranks × 1 OpenMP thread (the default for 1 core on node-1)"
    asked = {"ranks": 1, "threads": 8, "chosen": "asked", "cores": 2, "host": "node-1"}
    assert layout_text(8, 8, asked) == "1 MPI rank × 8 OpenMP threads (as asked on node-1)"
    assert layout_text(8, 4, None) == "2 MPI ranks × 4 OpenMP threads (as asked)"
    assert layout_text(8, None, None).startswith("the default: as few ranks as possible")


@pytest.mark.slow
@pytest.mark.parametrize(("cores", "ranks", "threads"), [(1, 4, 1), (4, 1, 4)])
def test_a_run_records_the_layout_chosen_on_its_host(cores, ranks, threads):
    # paralab run as a user runs it: the engine in a process of its own, with the host's core count set.
    env = {**os.environ, "PARALAB_CORES": str(cores)}
    done = subprocess.run(
        [sys.executable, "-m", "client.cli", "run", "mandelbrot", "-p", "width=64", "-p", "height=48", "-p",
         "max_iter=50", "--backend", "hybrid", "--impl", "native", "--workers", "4", "--json", "--quiet"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["verified"] is True
    assert result["layout"] == {"ranks": ranks, "threads": threads, "chosen": "default", "cores": cores,
                                "host": socket.gethostname()}  # fmt: skip
    assert f"hybrid: {layout_text(4, threads, None).removesuffix(' (as asked)')}" in result["log"]
    assert len({span["worker"] for span in result["spans"]}) <= 4  # a lane per thread of each rank
