"""The engine: validate a request, run its units on a backend, combine, verify.

``run`` is the one entry point the CLI, the benchmarks and the Celery task share.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from kernels.backends import get_backend
from kernels.backends.base import RunSpec
from kernels.errors import Cancelled, DeadlineExceeded, UnsupportedCombination
from kernels.progress import LogCallback, ProgressCallback, Reporter
from kernels.registry import BACKENDS, IMPLEMENTATIONS, get_workload
from kernels.workloads.base import Workload

MAX_WORKERS = 64


@dataclass
class RunRequest:
    workload: str
    params: dict[str, Any] = field(default_factory=dict)
    backend: str = "sequential"
    implementation: str = "python"
    workers: int = 1
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunResult:
    workload: str
    params: dict[str, Any]
    backend: str
    implementation: str
    workers: int
    value: Any
    verified: bool | None
    verification: str
    wall_time: float
    spans: list[dict[str, Any]]
    log: list[str]
    artifacts: dict[str, bytes] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """Everything but the artifacts' bytes: what the CLI prints with --json."""
        data = asdict(self)
        data["artifacts"] = sorted(self.artifacts)
        return data


def check_request(request: RunRequest, max_workers: int = MAX_WORKERS) -> tuple[Workload, dict[str, Any]]:
    """Validate everything about a request before anything runs; raises ParamError/UnsupportedCombination."""
    workload = get_workload(request.workload)
    if request.backend not in BACKENDS:
        raise UnsupportedCombination(
            "backend", f"unknown backend {request.backend!r}; choose one of {', '.join(BACKENDS)}"
        )
    if request.implementation not in IMPLEMENTATIONS:
        raise UnsupportedCombination(
            "implementation",
            f"unknown implementation {request.implementation!r}; choose one of {', '.join(IMPLEMENTATIONS)}",
        )
    if not workload.supports(request.backend, request.implementation):
        raise UnsupportedCombination(
            "backend",
            f"{workload.name} does not run on {request.backend} × {request.implementation}; "
            f"it supports backends {', '.join(workload.backends)} with {', '.join(workload.implementations)}",
        )
    params = workload.validate(request.params)
    limit = min(max_workers, workload.max_workers(params))
    if isinstance(request.workers, bool) or not isinstance(request.workers, int) or not 1 <= request.workers <= limit:
        raise UnsupportedCombination("workers", f"must be an integer between 1 and {limit}, got {request.workers!r}")
    if request.backend == "sequential" and request.workers != 1:
        raise UnsupportedCombination("workers", "the sequential backend runs with exactly 1 worker")
    return workload, params


def run(
    request: RunRequest,
    *,
    on_progress: ProgressCallback | None = None,
    on_log: LogCallback | None = None,
    cancel: threading.Event | None = None,
    timeout: float | None = None,
) -> RunResult:
    """Run a request to the end; raise Cancelled/DeadlineExceeded after killing its processes."""
    workload, params = check_request(request)
    cancel = cancel or threading.Event()
    timed_out = threading.Event()
    timer = None
    if timeout is not None:

        def expire() -> None:
            timed_out.set()
            cancel.set()

        timer = threading.Timer(timeout, expire)
        timer.daemon = True
        timer.start()

    units = workload.split(params, request.workers)
    total = workload.total_units(params, request.workers, request.backend)
    reporter = Reporter(total, on_progress, on_log)
    spec = RunSpec(workload, params, request.implementation, request.workers, units, reporter, cancel, request.options)
    started = time.perf_counter()
    try:
        results = get_backend(request.backend).run(spec)
    except Cancelled:
        if timed_out.is_set():
            raise DeadlineExceeded(f"time limit of {timeout:g} s exceeded") from None
        raise
    finally:
        if timer is not None:
            timer.cancel()
    wall = time.perf_counter() - started
    outcome = workload.combine(params, results)
    verdict = workload.verify(params, outcome.value, results)
    return RunResult(
        workload=workload.name,
        params=params,
        backend=request.backend,
        implementation=request.implementation,
        workers=request.workers,
        value=outcome.value,
        verified=verdict.ok,
        verification=verdict.detail,
        wall_time=wall,
        spans=[s.as_dict() for s in sorted(reporter.spans, key=lambda s: (s.start, s.unit))],
        log=list(reporter.log_lines),
        artifacts=outcome.artifacts,
    )
