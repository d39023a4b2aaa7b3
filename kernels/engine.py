"""The engine: check a request once, run its units on a backend, combine, verify.

``check_request`` is the one check, made at the edge (the API and forms through
webapp/jobs/services.py, ``paralab run``); ``run`` is the one entry point the CLI, the benchmarks and the
Celery task share, and it takes only a ``CheckedRequest``, so nothing downstream checks again.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from kernels import measurement
from kernels.backends import get_backend
from kernels.backends.base import RunSpec
from kernels.backends.hybrid import threads_per_rank
from kernels.errors import Cancelled, DeadlineExceeded, UnsupportedCombination
from kernels.progress import LogCallback, ProgressCallback, Reporter, StartCallback
from kernels.registry import BACKENDS, IMPLEMENTATIONS, get_workload
from kernels.workloads.base import OPENMP_BACKENDS, Workload

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
    cpu_time: float | None = None  # seconds of CPU, every process of the run (kernels/measurement.py)
    host: dict[str, Any] = field(default_factory=dict)  # load before/after and steal during the run
    layout: dict[str, Any] = field(default_factory=dict)  # hybrid: ranks, threads, chosen, cores, host

    def summary(self) -> dict[str, Any]:
        """Everything but the artifacts' bytes: what the CLI prints with --json."""
        data = asdict(self)
        data["artifacts"] = sorted(self.artifacts)
        return data


@dataclass(frozen=True)
class CheckedRequest:
    """A request that passed ``check_request``: its params cleaned (defaults filled in, values coerced),
    its workload looked up. What the engine, ``run_isolated`` and ``run_slurm`` take, so a request that
    skipped the check is a type error, not a second check deep in a worker."""

    request: RunRequest
    workload: Workload

    @classmethod
    def trusted(cls, request: RunRequest) -> CheckedRequest:
        """A request ``check_request`` passed on our side, rebuilt where it crosses a boundary we own,
        without checking it again: the isolated engine's stdin (written by ``run_isolated`` or our
        Slurm batch script from a CheckedRequest) and a job's row (written by webapp/jobs/services.py
        with the cleaned params). Never for anything a user sent: that goes through ``check_request``."""
        return cls(request, get_workload(request.workload))

    def total_units(self) -> int:
        return self.workload.total_units(self.request.params, self.request.workers, self.request.backend)


def check_request(request: RunRequest, max_workers: int = MAX_WORKERS) -> CheckedRequest:
    """Check everything about a request before anything runs; raises ParamError/UnsupportedCombination."""
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
    if request.backend in OPENMP_BACKENDS and request.implementation != "native":
        raise UnsupportedCombination(
            "implementation",
            f"the {request.backend} backend runs compiled OpenMP kernels: choose implementation native",
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
    if request.backend == "hybrid":
        threads_per_rank(request.workers, request.options.get("threads"))
    elif request.options.get("threads") is not None:
        raise UnsupportedCombination(
            "threads", f"threads per rank is for the hybrid backend; {request.backend} runs {request.workers} workers"
        )
    return CheckedRequest(replace(request, params=params, options=dict(request.options)), workload)


def run(
    checked: CheckedRequest,
    *,
    on_progress: ProgressCallback | None = None,
    on_log: LogCallback | None = None,
    on_start: StartCallback | None = None,
    cancel: threading.Event | None = None,
    timeout: float | None = None,
) -> RunResult:
    """Run a checked request to the end; raise Cancelled/DeadlineExceeded after killing its processes."""
    request, workload, params = checked.request, checked.workload, checked.request.params
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
    reporter = Reporter(checked.total_units(), on_progress, on_log, on_start)
    spec = RunSpec(workload, params, request.implementation, request.workers, units, reporter, cancel, request.options)
    host_before, cpu_before = measurement.host_sample(), measurement.cpu_seconds()
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
    cpu = measurement.cpu_seconds() - cpu_before
    host = measurement.host_during(host_before, measurement.host_sample())
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
        cpu_time=round(cpu, 4),
        host=host,
        layout=spec.layout,
    )
