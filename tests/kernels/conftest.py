"""What the compute-core tests share: small parameters, real Redis, runs in a thread, leftover-process checks."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import psutil
import pytest

from kernels.engine import RunRequest, RunResult, check_request, run
from kernels.workloads.base import NativeUnavailable, Workload
from tests.processes import is_alive, run_processes

# Parameters that keep each run well under a second and still have a reference to check against.
# A workload missing here runs on its defaults, so a new workload is covered before anyone adds it.
SMALL: dict[str, dict[str, Any]] = {
    "fib": {"ns": [20, 19, 18, 17, 16, 15]},
    "primes": {"n": 100_000},
    "montecarlo_pi": {"samples": 2_500_000, "seed": 7},  # three units, the last one partial
    "mandelbrot": {"width": 64, "height": 40, "max_iter": 64},  # three bands, the last one short
    "heat": {"rows": 40, "cols": 24, "steps": 30},
    "mpi_ring": {"laps": 2},
}


def small_params(name: str) -> dict[str, Any]:
    return dict(SMALL.get(name, {}))


def native_missing(workload: Workload, params: dict[str, Any]) -> str:
    """Why the native twin cannot run here, or "" when it can."""
    unit = workload.split(workload.validate(params), 1)[0]
    try:
        workload.run_unit_native(unit)
    except NativeUnavailable as exc:
        return str(exc)
    return ""


def skip_unless_native(workload: Workload, params: dict[str, Any]) -> None:
    reason = native_missing(workload, params)
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The real Redis the subprocesses backend uses; the suite does not pretend without one."""
    import redis

    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.fail(f"these tests need Redis at {url} (set REDIS_URL): {exc}")
    return url


def options_for(backend: str, redis_url: str) -> dict[str, Any]:
    return {"redis_url": redis_url} if backend == "subprocesses" else {}


class BackgroundRun:
    """An engine run in a thread, so a test can watch its processes and cancel it."""

    def __init__(self, request: RunRequest, timeout: float | None = None):
        self.request = request
        self.cancel = threading.Event()
        self.result: RunResult | None = None
        self.error: BaseException | None = None
        self.log: list[str] = []
        self._thread = threading.Thread(target=self._run, args=(timeout,), daemon=True)

    def start(self) -> BackgroundRun:
        self._thread.start()
        return self

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), f"the run did not stop within {timeout} s"

    def _run(self, timeout: float | None) -> None:
        try:
            self.result = run(check_request(self.request), on_log=self.log.append, cancel=self.cancel, timeout=timeout)
        except BaseException as exc:
            self.error = exc


def living_descendants() -> list[psutil.Process]:
    return run_processes(psutil.Process().children(recursive=True))


def cmdline(proc: psutil.Process) -> list[str]:
    try:
        return proc.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return []


def run_markers(processes: list[psutil.Process]) -> list[str]:
    """Strings that appear only in this run's command lines: the Redis key prefix, the MPI spec."""
    markers = []
    for proc in processes:
        args = cmdline(proc)
        if "--prefix" in args:
            markers.append(args[args.index("--prefix") + 1])
        markers += [arg for arg in args if arg.startswith("{") and "started_at" in arg]
    return sorted(set(markers))


def wait_for_workers(backend: str, count: int, before: set[int], timeout: float = 30.0) -> list[psutil.Process]:
    """Wait until the run's ``count`` workers exist; return every new descendant (workers, mpiexec, proxies)."""
    own = cmdline(psutil.Process())
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        new = [p for p in living_descendants() if p.pid not in before]
        if backend == "processes":
            workers = [p for p in new if cmdline(p) == own]  # forked pool children
        elif backend == "subprocesses":
            workers = [p for p in new if "kernels.backends.redis_worker" in cmdline(p)]
        else:
            workers = [p for p in new if any(a.startswith("kernels.mpi.") for a in cmdline(p)[:4])]
        if len(workers) >= count:
            return new
        time.sleep(0.02)
    raise AssertionError(f"{count} {backend} workers did not start within {timeout} s")


def assert_nothing_left(before: set[int], seen: list[psutil.Process], markers: list[str], within: float = 2.0) -> None:
    """Within ``within`` seconds: no new child of ours, none of ``seen`` running, no process carrying a marker."""
    deadline = time.monotonic() + within
    while True:
        left = [p for p in living_descendants() if p.pid not in before]
        left += [p for p in seen if is_alive(p) and p not in left]
        if markers:
            for proc in psutil.process_iter():
                line = " ".join(cmdline(proc))
                if any(marker in line for marker in markers) and is_alive(proc) and proc not in left:
                    left.append(proc)
        if not left:
            return
        if time.monotonic() > deadline:
            described = [(p.pid, " ".join(cmdline(p))[:120]) for p in left]
            raise AssertionError(f"processes left {within} s after the run stopped: {described}")
        time.sleep(0.05)


class ProcessWatch:
    """Remembers the descendants that existed before a test (e.g. a session-wide Celery worker): not ours to check."""

    def __init__(self) -> None:
        self.before = {p.pid for p in living_descendants()}

    def wait_for_workers(self, backend: str, count: int, timeout: float = 30.0) -> list[psutil.Process]:
        return wait_for_workers(backend, count, self.before, timeout)

    def new_descendants(self) -> list[psutil.Process]:
        return [p for p in living_descendants() if p.pid not in self.before]

    def carrying(self, marker: str) -> list[psutil.Process]:
        """Living processes anywhere whose command line contains ``marker``."""
        return [p for p in psutil.process_iter() if marker in " ".join(cmdline(p)) and is_alive(p)]

    def assert_nothing_left(self, seen: list[psutil.Process], within: float = 2.0) -> None:
        assert_nothing_left(self.before, seen, run_markers(seen), within)


@pytest.fixture
def processes() -> ProcessWatch:
    return ProcessWatch()


@pytest.fixture
def background():
    """Start engine runs in threads; any still going at teardown is cancelled and joined."""
    runs: list[BackgroundRun] = []

    def start(request: RunRequest, timeout: float | None = None) -> BackgroundRun:
        runs.append(BackgroundRun(request, timeout).start())
        return runs[-1]

    yield start
    for item in runs:
        item.cancel.set()
        item.join(60)


@pytest.fixture
def small():
    """``small(name)``: parameters for a quick run of a workload that still has a reference."""
    return small_params


@pytest.fixture
def require_native():
    """``require_native(workload, params)``: skip when the compiled twin truly is not built."""
    return skip_unless_native


@pytest.fixture
def options(redis_url):
    """``options(backend)``: the run options a backend needs here (the test Redis for subprocesses)."""
    return lambda backend: options_for(backend, redis_url)
