"""Run the engine in a child process group, so a cancel or time limit can stop *any* backend at once.

A unit of pure-Python work cannot be interrupted inside its own process (a thread cannot be
killed), so the Celery worker never runs the engine in-process: it starts
``python -m kernels.isolated``, reads its JSON-line events, and kills the whole process group
(pool children, Redis workers, MPI ranks) to cancel. The child also dies with its parent.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import asdict
from typing import Any

from kernels import wire
from kernels.backends.base import POLL, RUN_ENV, die_with_parent, kill_run, kill_session
from kernels.engine import RunRequest, RunResult, check_request, run
from kernels.errors import Cancelled, DeadlineExceeded, EngineError, UnsupportedCombination, WorkerFailed
from kernels.params import ParamError
from kernels.progress import LogCallback, ProgressCallback, UnitSpan

_ERRORS: dict[str, type[Exception]] = {
    "ParamError": ParamError,
    "UnsupportedCombination": UnsupportedCombination,
    "WorkerFailed": WorkerFailed,
}


def run_isolated(
    request: RunRequest,
    *,
    on_progress: ProgressCallback | None = None,
    on_log: LogCallback | None = None,
    cancel: threading.Event | None = None,
    timeout: float | None = None,
) -> RunResult:
    """Same contract as ``engine.run``, with the work in a killable process group."""
    check_request(request)  # fail fast, in the caller's process, on bad input
    cancel = cancel or threading.Event()
    run_id = uuid.uuid4().hex
    child = subprocess.Popen(
        [sys.executable, "-m", "kernels.isolated"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        env={**os.environ, RUN_ENV: run_id},
    )
    assert child.stdin is not None
    child.stdin.write(wire.dumps(asdict(request)))
    child.stdin.close()
    outcome: dict[str, Any] = {}
    reader = threading.Thread(target=_read, args=(child, outcome, on_progress, on_log), daemon=True)
    reader.start()
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        while reader.is_alive():
            if cancel.is_set():
                raise Cancelled("cancelled")
            if deadline is not None and time.monotonic() > deadline:
                raise DeadlineExceeded(f"time limit of {timeout:g} s exceeded")
            reader.join(POLL)
    finally:
        if child.poll() is None or reader.is_alive():
            kill_session(child)
            reader.join(timeout=2)  # the child is dead: its pipe is at EOF
        else:
            child.wait()
        kill_run(run_id)  # anything of the run still about, wherever it was re-parented
    if "result" in outcome:
        data = outcome["result"]
        return RunResult(**data)
    if "error" in outcome:
        error = outcome["error"]
        if error["type"] in ("ParamError", "UnsupportedCombination"):
            raise _ERRORS[error["type"]](error["field"], error["reason"])
        raise _ERRORS.get(error["type"], EngineError)(error["message"])
    tail = "\n".join(outcome.get("log", [])[-5:])
    raise WorkerFailed(f"the engine process exited with code {child.returncode} and no result: {tail}")


def _read(
    child: subprocess.Popen[str],
    outcome: dict[str, Any],
    on_progress: ProgressCallback | None,
    on_log: LogCallback | None,
) -> None:
    assert child.stdout is not None
    log: list[str] = outcome.setdefault("log", [])
    for raw in child.stdout:
        line = raw.rstrip("\n")
        event = wire.parse_line(line)
        if event is None:
            log.append(line)
            del log[:-100]
            if on_log is not None:
                on_log(line)
        elif event["kind"] == "progress":
            if on_progress is not None:
                span = UnitSpan(**event["span"])
                on_progress(event["done"], event["total"], span.worker, event["elapsed"], span)
        elif event["kind"] in ("result", "error"):
            outcome[event["kind"]] = event["data"]


def main() -> int:
    # If the Celery worker is killed (kill -9), take the pool children, Redis workers and MPI ranks down too.
    die_with_parent()
    request = RunRequest(**wire.loads(sys.stdin.read()))
    lock = threading.Lock()

    def emit(kind: str, **fields: Any) -> None:
        with lock:
            sys.stdout.write(wire.event_line(kind, **fields) + "\n")
            sys.stdout.flush()

    def on_progress(done: int, total: int, worker: int, elapsed: float, span: UnitSpan) -> None:
        emit("progress", done=done, total=total, elapsed=elapsed, span=span.as_dict())

    def on_log(line: str) -> None:
        with lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    try:
        result = run(request, on_progress=on_progress, on_log=on_log)
    except (ParamError, UnsupportedCombination) as exc:
        emit("error", data={"type": type(exc).__name__, "field": exc.field, "reason": exc.reason})
        return 2
    except Exception as exc:  # reported to the parent as the run's error text
        emit("error", data={"type": type(exc).__name__, "message": f"{type(exc).__name__}: {exc}"})
        return 1
    emit("result", data=asdict(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
