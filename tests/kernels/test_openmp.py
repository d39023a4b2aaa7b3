"""The openmp backend (OpenMP threads in one native call) and hybrid (MPI ranks × OpenMP threads).

Same answers as the sequential Python run, bit for bit; the kernels release the GIL; progress
arrives while the call runs; a cancel stops it; thread counts out of bounds are refused by name.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import numpy as np
import psutil
import pytest

from kernels.backends.hybrid import threads_per_rank
from kernels.backends.openmp import DONE, STATE, new_board
from kernels.engine import RunRequest, check_request, run
from kernels.errors import Cancelled, UnsupportedCombination
from kernels.isolated import run_isolated
from kernels.workloads import heat, mandelbrot
from kernels.workloads.base import NativeUnavailable, load_native

try:
    load_native("heat"), load_native("mandelbrot")
except NativeUnavailable as exc:  # pragma: no cover - only where the extension was never built
    pytest.skip(str(exc), allow_module_level=True)

IMAGES = [
    {"width": 16, "height": 16, "max_iter": 1},  # one band; max_iter 1: every pixel escapes at once or is inside
    {"width": 48, "height": 40, "max_iter": 50},  # three bands, the last one short
    {"width": 101, "height": 77, "max_iter": 300, "x_min": -0.8, "x_max": -0.7, "y_min": 0.05, "y_max": 0.15},
]
GRIDS = [
    {"rows": 8, "cols": 8, "steps": 1},
    {"rows": 40, "cols": 24, "steps": 30},
    {"rows": 9, "cols": 300, "steps": 257},  # 7 interior rows: at 5 threads some get one row, some two
]

_sequential: dict[str, dict] = {}


def sequential(workload: str, params: dict) -> dict:
    """The plain Python run every other backend must equal."""
    key = f"{workload} {sorted(params.items())}"
    if key not in _sequential:
        _sequential[key] = run(check_request(RunRequest(workload, params))).value
    return _sequential[key]


@pytest.mark.parametrize("threads", [1, 2, 3, 5])
@pytest.mark.parametrize("params", IMAGES, ids=["one-band", "three-bands", "deep-zoom"])
def test_openmp_mandelbrot_equals_the_sequential_run(params, threads):
    result = run(check_request(RunRequest("mandelbrot", params, "openmp", "native", threads)))
    assert result.verified is True, result.verification
    assert result.value == sequential("mandelbrot", params)
    assert len(result.spans) == len(mandelbrot.WORKLOAD.split(mandelbrot.WORKLOAD.validate(params), threads))
    assert {span["worker"] for span in result.spans} <= set(range(threads))


@pytest.mark.parametrize("threads", [1, 2, 3, 5])
@pytest.mark.parametrize("params", GRIDS, ids=["8x8x1", "40x24x30", "9x300x257"])
def test_openmp_heat_equals_the_sequential_run_bit_for_bit(params, threads):
    result = run(check_request(RunRequest("heat", params, "openmp", "native", threads)))
    assert result.verified is True, result.verification
    assert result.value == sequential("heat", params)  # the sha256 of every cell's bytes, among others
    # Every thread reports its share of each stretch of steps, whatever it got (even no rows).
    reports = len(heat.report_steps(params["steps"]))
    assert len(result.spans) == threads * reports
    assert sorted(span["worker"] for span in result.spans) == sorted(list(range(threads)) * reports)
    assert all(span["cpu"] is not None and span["cpu"] >= 0 for span in result.spans)


@pytest.mark.parametrize(
    ("workers", "threads", "layout"),
    [(1, None, "1 MPI rank × 1 OpenMP thread"), (2, 2, "1 MPI rank × 2 OpenMP threads"),
     (2, 1, "2 MPI ranks × 1 OpenMP thread"), (4, 2, "2 MPI ranks × 2 OpenMP threads")],
)  # fmt: skip
@pytest.mark.parametrize("workload", ["mandelbrot", "heat"])
def test_hybrid_equals_the_sequential_run(workload, workers, threads, layout):
    params = IMAGES[2] if workload == "mandelbrot" else GRIDS[1]
    options = {} if threads is None else {"threads": threads}
    result = run(check_request(RunRequest(workload, params, "hybrid", "native", workers, options)))
    assert result.verified is True, result.verification
    assert result.value == sequential(workload, params)
    assert f"hybrid: {layout}" in result.log
    # A lane per OpenMP thread of each rank: rank × threads + thread.
    assert {span["worker"] for span in result.spans} <= set(range(workers))
    if workload == "heat":
        assert {span["worker"] for span in result.spans} == set(range(workers))


def test_mpi_runs_the_native_heat_stencil_too():
    result = run(check_request(RunRequest("heat", GRIDS[2], "mpi", "native", 3)))
    assert result.verified is True, result.verification
    assert result.value == sequential("heat", GRIDS[2])


def test_the_kernel_releases_the_gil_while_it_renders():
    # A C call that kept the GIL would stall every other Python thread from its start to its end: this
    # thread's heartbeat would pause for the whole band. One band of 16 × 1024 pixels, all inside the
    # set at 10,000 iterations, lasts a few tenths of a second.
    board, cancel = new_board(1)
    kernel = load_native("mandelbrot")
    worker = threading.Thread(
        target=kernel.bands, args=(1024, 16, 10_000, [-0.1, 0.1, -0.1, 0.1], [(0, 16)], 1, board, cancel)
    )
    ticks = [time.perf_counter()]
    worker.start()
    while worker.is_alive():
        ticks.append(time.perf_counter())
        time.sleep(0.001)
    worker.join()
    assert board[0, STATE] == DONE
    band = board[0, 1] - board[0, 0]
    longest_pause = max(later - earlier for earlier, later in zip(ticks, ticks[1:], strict=False))
    assert longest_pause < band / 4, (longest_pause, band)


def test_progress_arrives_while_the_call_runs_each_band_announced_on_its_thread():
    # A view inside the main cardioid: every pixel runs all max_iter iterations, so the call lasts far
    # longer than the 50 ms between reports on any machine (the default view took ~1 ms on a quiet one).
    params = {"width": 512, "height": 256, "max_iter": 2000, "x_min": -0.5, "x_max": 0.1, "y_min": -0.3, "y_max": 0.3}
    events: list[tuple[str, int, int, float]] = []

    def on_start(unit, worker, start):
        events.append(("start", unit, worker, time.perf_counter()))

    def on_progress(done, total, worker, elapsed, span):
        events.append(("done", span.unit, worker, time.perf_counter()))

    result = run(
        check_request(RunRequest("mandelbrot", params, "openmp", "native", 2)),
        on_progress=on_progress,
        on_start=on_start,
    )
    bands = 256 // 16
    assert sorted(unit for kind, unit, _, _ in events if kind == "done") == list(range(bands))
    started = {unit: worker for kind, unit, worker, _ in events if kind == "start"}
    assert sorted(started) == list(range(bands))
    assert all(started[span["unit"]] == span["worker"] for span in result.spans)
    # Reported during the run, not all at the end: the first band's report precedes the last's by a poll or more.
    done_times = [at for kind, _, _, at in events if kind == "done"]
    assert done_times[-1] - done_times[0] > 0.02, "every band was reported at once, after the call"


def test_a_cancelled_openmp_run_stops_starting_bands():
    # 4096 × 4096 at 59 iterations, most of it inside the set: seconds of work at two threads.
    params = {"width": 4096, "height": 4096, "max_iter": 59, "x_min": -0.5, "x_max": 0.2, "y_min": -0.5, "y_max": 0.5}
    cancel = threading.Event()
    outcome: dict = {}
    progress = threading.Event()

    def target():
        try:
            run(check_request(RunRequest("mandelbrot", params, "openmp", "native", 2)),
                cancel=cancel, on_progress=lambda *args: progress.set())  # fmt: skip
        except BaseException as exc:
            outcome["error"] = exc

    runner = threading.Thread(target=target)
    runner.start()
    assert progress.wait(30), "no band finished"
    cancel.set()
    cancelled_at = time.monotonic()
    runner.join(5)
    assert not runner.is_alive()
    assert time.monotonic() - cancelled_at < 1.0
    assert isinstance(outcome.get("error"), Cancelled)
    assert not [t for t in threading.enumerate() if t.name == "paralab-openmp"], "the kernel's thread is still running"


@pytest.mark.parametrize("backend", ["openmp", "hybrid"])
def test_cancel_kills_an_isolated_run_within_a_second(backend):
    params = {"width": 4096, "height": 4096, "max_iter": 59, "x_min": -0.5, "x_max": 0.2, "y_min": -0.5, "y_max": 0.5}
    cancel = threading.Event()
    outcome: dict = {}
    progress = threading.Event()
    before = {p.pid for p in psutil.Process().children(recursive=True)}

    def target():
        try:
            run_isolated(check_request(RunRequest("mandelbrot", params, backend, "native", 2)),
                         cancel=cancel, on_progress=lambda *args: progress.set())  # fmt: skip
        except BaseException as exc:
            outcome["error"] = exc

    runner = threading.Thread(target=target)
    runner.start()
    assert progress.wait(30), "no band finished"
    run = [p for p in psutil.Process().children(recursive=True) if p.pid not in before]
    # The engine (and under hybrid mpiexec, its proxy and the rank): one of them runs both OpenMP threads.
    assert run and max(p.num_threads() for p in run) >= 3  # Python, the kernel's thread, OpenMP's second
    cancel.set()
    cancelled_at = time.monotonic()
    while any(running(p) for p in run) and time.monotonic() - cancelled_at < 5:
        time.sleep(0.01)
    stopped = time.monotonic() - cancelled_at
    assert stopped < 1.0, f"processes of the run (and their threads) still running {stopped:.2f} s after the cancel"
    # Reaping the MPI processes orphaned by the engine's death is up to PID 1 (here 1–2 s, as for the mpi backend).
    runner.join(10)
    assert isinstance(outcome.get("error"), Cancelled)
    gone, alive = psutil.wait_procs(run, timeout=5)
    assert not alive, f"processes of the run left: {alive}"


def running(proc: psutil.Process) -> bool:
    """Alive and not a zombie: a zombie has no threads left, only an entry for its parent to reap."""
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_a_cancelled_heat_run_stops_stepping():
    board, cancel = new_board(2 * 10)
    grid = heat.initial_grid(64, 64)
    out = grid.copy()
    cancel[0] = 1
    done = load_native("heat").simulate(grid, out, 1000, heat.ALPHA, 2, heat.report_steps(1000), board, cancel)
    assert done == 0 and (board[:, STATE] == 0).all()


ONE_CORE_HEAT = """
import os, sys, time
import numpy as np
from kernels.workloads import heat
from kernels.workloads.base import load_native
kernel = load_native("heat")
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
grid = heat.initial_grid(128, 128)
started = time.perf_counter()
kernel.simulate(grid, grid.copy(), 50, heat.ALPHA, 2, [50], np.zeros((2, 5)), np.zeros(1, dtype=np.int32))
print(time.perf_counter() - started)
"""


def test_threads_sharing_a_core_sleep_at_the_step_barrier_instead_of_spinning():
    # A busy host, taken to the extreme: both threads on one core. A thread spinning at the barrier
    # holds the core its partner needs to get there: 50 steps of 128² took ~2.5 s (a scheduler slice
    # per step; 2000 steps 95 s), sleeping ~5 ms. A fresh interpreter: libgomp reads the policy once.
    env = {key: value for key, value in os.environ.items() if key != "OMP_WAIT_POLICY"}
    done = subprocess.run([sys.executable, "-c", ONE_CORE_HEAT], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert float(done.stdout) < 0.5


@pytest.mark.parametrize(
    ("backend", "workers", "options", "field", "reason"),
    [
        ("hybrid", 2, {"threads": 3}, "threads", "must be an integer between 1 and workers (2), got 3"),
        ("hybrid", 2, {"threads": 0}, "threads", "must be an integer between 1 and workers (2), got 0"),
        ("hybrid", 2, {"threads": "2"}, "threads", "must be an integer between 1 and workers (2), got '2'"),
        ("hybrid", 2, {"threads": True}, "threads", "must be an integer between 1 and workers (2), got True"),
        ("hybrid", 6, {"threads": 4}, "threads",
         "must divide workers: 6 workers = ranks × threads, and 4 does not divide 6"),
        ("openmp", 2, {"threads": 2}, "threads",
         "threads per rank is for the hybrid backend; openmp runs 2 workers"),
        ("openmp", 0, {}, "workers", "must be an integer between 1 and 64, got 0"),
        ("openmp", 65, {}, "workers", "must be an integer between 1 and 64, got 65"),
    ],
)  # fmt: skip
def test_thread_counts_out_of_bounds_are_refused_by_name(backend, workers, options, field, reason):
    with pytest.raises(UnsupportedCombination) as caught:
        run(check_request(RunRequest("mandelbrot", {"width": 16, "height": 16}, backend, "native", workers, options)))
    assert (caught.value.field, caught.value.reason) == (field, reason)


def test_heat_threads_are_bounded_by_its_interior_rows():
    with pytest.raises(UnsupportedCombination) as caught:
        run(check_request(RunRequest("heat", {"rows": 8, "cols": 8, "steps": 1}, "openmp", "native", 7)))
    assert caught.value.reason == "must be an integer between 1 and 6, got 7"


def test_the_kernels_refuse_a_bad_thread_count_or_board():
    kernel = load_native("mandelbrot")
    board, cancel = new_board(1)
    with pytest.raises(ValueError, match="threads must be at least 1, got 0"):
        kernel.bands(16, 16, 10, [-2.0, 1.0, -1.0, 1.0], [(0, 16)], 0, board, cancel)
    with pytest.raises(ValueError, match="the board must have 2 rows of 5, got 1 × 5"):
        kernel.bands(16, 16, 10, [-2.0, 1.0, -1.0, 1.0], [(0, 8), (8, 16)], 1, board, cancel)
    with pytest.raises(ValueError, match=r"band 0 has rows \[8, 17\), outside \[0, 16\)"):
        kernel.bands(16, 16, 10, [-2.0, 1.0, -1.0, 1.0], [(8, 17)], 1, board, cancel)
    grid = np.zeros((8, 8))
    with pytest.raises(ValueError, match="threads must be at least 1, got -1"):
        load_native("heat").step(grid, grid.copy(), heat.ALPHA, -1, np.zeros(1))


@pytest.mark.parametrize(
    ("workers", "cores", "threads"), [(1, 2, 1), (2, 2, 2), (3, 2, 1), (4, 2, 2), (6, 4, 3), (8, 64, 8), (7, 4, 1)]
)
def test_the_default_layout_fills_a_host_with_as_few_ranks_as_divide_the_workers(workers, cores, threads):
    assert threads_per_rank(workers, cores=cores) == threads
