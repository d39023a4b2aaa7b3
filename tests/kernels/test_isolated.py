"""The engine in its own process group (what the Celery worker uses): results come back, and a cancel
kills every process of the run — including mpiexec and Redis workers, which live in sessions of their own."""

import threading
import time

import psutil
import pytest

from kernels.engine import RunRequest
from kernels.errors import Cancelled
from kernels.isolated import run_isolated

MARKERS = ("kernels.", "mpiexec", "hydra_pmi_proxy")


def run_processes() -> set[int]:
    found = set()
    for proc in psutil.process_iter(["pid", "cmdline"]):
        if any(marker in " ".join(proc.info["cmdline"] or ()) for marker in MARKERS):
            found.add(proc.info["pid"])
    return found


def test_a_run_returns_its_result_and_progress():
    seen = []
    result = run_isolated(RunRequest("fib", {"ns": [20, 21]}, "processes", "python", 2),
                          on_progress=lambda done, total, *rest: seen.append((done, total)))  # fmt: skip
    assert result.value == [6765, 10946] and result.verified is True
    assert seen[-1] == (2, 2)


@pytest.mark.parametrize("backend", ["mpi", "subprocesses", "processes", "threads"])
def test_cancel_leaves_no_process_of_the_run(backend):
    before = run_processes()
    cancel = threading.Event()
    threading.Timer(1.5, cancel.set).start()
    with pytest.raises(Cancelled):
        run_isolated(RunRequest("fib", {"ns": [40] * 4}, backend, "python", 2), cancel=cancel)
    deadline = time.monotonic() + 2
    while (left := run_processes() - before) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert left == set(), [psutil.Process(pid).cmdline() for pid in left if psutil.pid_exists(pid)]
