"""Cancelling a run, or letting it hit its time limit, kills every process it started: nothing is left running."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time

import psutil
import pytest

from kernels.backends.base import kill_session
from kernels.engine import RunRequest, check_request, run
from kernels.errors import Cancelled, DeadlineExceeded

LONG_FIB = {"ns": [40, 40, 40, 40]}  # pure-Python fib(40) takes seconds: surely still busy when stopped
KILLABLE = ["processes", "subprocesses", "mpi"]


@pytest.mark.parametrize("backend", KILLABLE)
@pytest.mark.parametrize("workers", [2, 3])
def test_cancel_kills_every_worker(backend, workers, options, background, processes):
    running = background(RunRequest("fib", LONG_FIB, backend, "python", workers, options(backend)))
    seen = processes.wait_for_workers(backend, workers)
    time.sleep(0.2)  # let them get into the computation

    running.cancel.set()
    running.join(10)

    assert isinstance(running.error, Cancelled) and not isinstance(running.error, DeadlineExceeded)
    processes.assert_nothing_left(seen)


@pytest.mark.parametrize("backend", KILLABLE)
def test_time_limit_kills_every_worker(backend, options, background, processes):
    started = time.monotonic()
    running = background(RunRequest("fib", LONG_FIB, backend, "python", 2, options(backend)), timeout=1.0)
    seen = processes.wait_for_workers(backend, 2)
    running.join(15)

    assert isinstance(running.error, DeadlineExceeded)
    assert str(running.error) == "time limit of 1 s exceeded"
    assert time.monotonic() - started < 10  # stopped at the limit, not when fib(40) would have finished
    processes.assert_nothing_left(seen)


@pytest.mark.parametrize("backend", ["sequential", "threads", *KILLABLE])
def test_cancel_before_the_start_runs_nothing(backend, options, processes):
    cancel = threading.Event()
    cancel.set()
    workers = 1 if backend == "sequential" else 2
    progress = []
    with pytest.raises(Cancelled):
        run(
            check_request(RunRequest("fib", {"ns": [25, 25]}, backend, "python", workers, options(backend))),
            cancel=cancel,
            on_progress=lambda *args: progress.append(args),
        )
    assert progress == []
    processes.assert_nothing_left([])


def test_threads_stop_taking_units_once_cancelled(background):
    # A running Python thread cannot be killed, but the units still queued never start.
    units = [28] * 40
    progress = []
    cancel_after_two = threading.Event()

    def on_progress(done, total, worker, elapsed, span):
        progress.append(done)
        if done == 2:
            cancel_after_two.set()

    request = check_request(RunRequest("fib", {"ns": units}, "threads", "python", 2))
    outcome: dict[str, BaseException] = {}

    def target():
        try:
            run(request, on_progress=on_progress, cancel=cancel_after_two)
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(60)
    assert isinstance(outcome.get("error"), Cancelled)
    assert len(progress) < len(units)


def test_a_killed_session_reports_the_kill_as_its_exit_code():
    # psutil's wait reaps a child behind its Popen's back, which then reads exit code 0: a run the engine
    # killed said "the engine process exited with code 0" (CI), and a warm engine killed just before it
    # was taken passed for one that had ended normally.
    child = subprocess.Popen(
        [sys.executable, "-c", "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); time.sleep(60)"],
        process_group=0,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while not (below := psutil.Process(child.pid).children()):
        assert time.monotonic() < deadline, "the child's own child never started"
        time.sleep(0.05)
    kill_session(child)
    assert child.returncode == -signal.SIGKILL
    assert psutil.wait_procs(below, timeout=5)[1] == []  # what it started is gone too
