"""Run the engine in a child process group, so a cancel or time limit can stop *any* backend at once.

A unit of pure-Python work cannot be interrupted inside its own process (a thread cannot be
killed), so the Celery worker never runs the engine in-process: it starts
``python -m kernels.isolated``, reads its JSON-line events, and kills the whole process group
(pool children, Redis workers, MPI ranks) to cancel. The child also dies with its parent.

Start cost (issue 13): an interpreter and its imports take ~0.15 s, so each worker process keeps one
*warm* engine ready: started (as above) after a run ends, with everything imported, waiting on its
stdin for the next request. It is an ordinary child of the worker in its own process group, with its
run's ``PARALAB_RUN`` in its environment from the start, so cancel, the time limit, ``kill_run`` and
die-with-parent treat it exactly as a cold one. Until taken, it is named ``paralab-warm`` (``ps``). A Celery
worker starts its first one as soon as it is ready, so its first job is warm too.
"""

from __future__ import annotations

import ctypes
import importlib
import os
import pkgutil
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import asdict
from typing import Any

from kernels import wire
from kernels.backends import subprocesses
from kernels.backends.base import POLL, RUN_ENV, KeptThread, die_with_parent, kill_run, kill_session
from kernels.engine import CheckedRequest, RunRequest, RunResult, run
from kernels.errors import Cancelled, DeadlineExceeded, EngineError, UnsupportedCombination, WorkerFailed
from kernels.params import ParamError
from kernels.progress import LogCallback, ProgressCallback, StartCallback, UnitSpan
from kernels.redaction import redact

_ERRORS: dict[str, type[Exception]] = {
    "ParamError": ParamError,
    "UnsupportedCombination": UnsupportedCombination,
    "WorkerFailed": WorkerFailed,
}


def run_isolated(
    checked: CheckedRequest,
    *,
    on_progress: ProgressCallback | None = None,
    on_log: LogCallback | None = None,
    on_start: StartCallback | None = None,
    cancel: threading.Event | None = None,
    timeout: float | None = None,
) -> RunResult:
    """Same contract as ``engine.run``, with the work in a killable process group."""
    cancel = cancel or threading.Event()
    deadline = None if timeout is None else time.monotonic() + timeout
    callbacks = (on_progress, on_log, on_start)
    try:
        warm = _take_warm()
        if warm is not None:
            try:
                return _run_engine(*warm, checked, callbacks, cancel, deadline, timeout)
            except _NotTaken:
                # A warm engine killed (by hand, the OOM killer) in the instant before it took the request:
                # nothing of the run ran, so it starts again in a cold engine.
                pass
        try:
            return _run_engine(*_start_engine(), checked, callbacks, cancel, deadline, timeout)
        except _NotTaken as exc:
            raise WorkerFailed(
                f"the engine process exited with code {exc.code} before it took the run: {exc.tail}"
            ) from None
    finally:
        start_warm()  # after the run, not before: its imports would slow this run's start


class _NotTaken(Exception):
    """The engine ended without saying it had taken its request (main's "taken" event): none of the run ran."""

    def __init__(self, code: int, tail: str) -> None:
        super().__init__(code, tail)
        self.code, self.tail = code, tail


def _run_engine(
    child: subprocess.Popen[str],
    run_id: str,
    checked: CheckedRequest,
    callbacks: tuple[ProgressCallback | None, LogCallback | None, StartCallback | None],
    cancel: threading.Event,
    deadline: float | None,
    timeout: float | None,
) -> RunResult:
    """The run's result, once the engine has ended; a cancel or the time limit kills it and raises."""
    outcome: dict[str, Any] = {}
    reader = KeptThread(_read, child, outcome, *callbacks, name="paralab-engine-reader")
    try:
        _send(child, checked)  # if the engine is dead, its last words (a traceback, say) are still read
        reader.start()
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
    reader.check()  # a callback that failed (publishing progress, say) fails the run with its own error
    code = child.returncode
    if "taken" not in outcome:
        raise _NotTaken(code, "\n".join(outcome.get("log", [])[-5:]))
    return outcome_result(outcome, f"the engine process exited with code {code}")


def _start_engine(warm: bool = False) -> tuple[subprocess.Popen[str], str]:
    run_id = uuid.uuid4().hex
    child = subprocess.Popen(
        [sys.executable, "-m", "kernels.isolated", *(["--warm"] if warm else [])],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # Its own process group (to kill it whole), in the caller's session: Linux autogroup gives
        # each session its own CPU share, so a run in a session of its own would not compete with
        # others on equal footing on a busy host.
        process_group=0,
        env={**os.environ, RUN_ENV: run_id},
    )
    return child, run_id


def _send(child: subprocess.Popen[str], checked: CheckedRequest) -> None:
    """The checked request, cleaned params and all: the engine process trusts it (main). An engine already
    dead cannot take it: it never says "taken"."""
    assert child.stdin is not None
    try:
        child.stdin.write(wire.dumps(asdict(checked.request)))
        child.stdin.close()
    except OSError:
        pass


WARM_NAME = "paralab-warm"  # an idle warm engine's process name: no run's process yet


class _Warm:
    """This process's warm engine, and what it was started with (a changed environment or directory
    means a stale one: the run must see the worker as it is now)."""

    lock = threading.Lock()
    child: subprocess.Popen[str] | None = None
    run_id = ""
    owner = 0  # the pid that started it: a process forked from the owner (Celery's prefork) must not use it
    env: dict[str, str] = {}
    cwd = ""


def _take_warm() -> tuple[subprocess.Popen[str], str] | None:
    with _Warm.lock:
        child, run_id = _Warm.child, _Warm.run_id
        _Warm.child = None
        if child is None or _Warm.owner != os.getpid():
            return None
        if child.poll() is None and _Warm.env == dict(os.environ) and _Warm.cwd == os.getcwd():
            return child, run_id
    kill_session(child)
    return None


def start_warm() -> None:
    """Have a warm engine ready for the next run of this process (Linux: it names itself with prctl).

    Called after each run, and by a Celery worker once it is ready (tasks/jobs.py), so its first job starts warm too.
    """
    if sys.platform != "linux":
        return
    with _Warm.lock:
        if _Warm.child is not None and _Warm.owner == os.getpid() and _Warm.child.poll() is None:
            return
        try:
            _Warm.child, _Warm.run_id = _start_engine(warm=True)
        except OSError:  # no warm engine (out of processes, say): the next run starts a cold one
            _Warm.child = None
            return
        _Warm.owner, _Warm.env, _Warm.cwd = os.getpid(), dict(os.environ), os.getcwd()


def _set_name(name: bytes) -> None:
    """This process's name as ``ps`` and psutil show it (Linux's PR_SET_NAME)."""
    try:
        ctypes.CDLL(None).prctl(15, ctypes.c_char_p(name), 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _import_everything() -> None:
    """What a run would import on its way (the engine and registry are already): every backend, numpy, the
    native kernels, and redis (the subprocesses backend imports it only when it connects: ~0.1 s of CPU)."""
    from kernels import native
    from kernels.backends import _MODULES

    modules = pkgutil.iter_modules(native.__path__)
    names = ["numpy", "redis", *_MODULES.values(), *(f"kernels.native.{m.name}" for m in modules)]
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # a module that cannot be imported fails the run that needs it, with its error
            pass


def outcome_result(outcome: dict[str, Any], ended: str) -> RunResult:
    """The run's result from the engine's events, or its error raised; ``ended`` says how it ended without either."""
    if "result" in outcome:
        data = outcome["result"]
        return RunResult(**data)
    if "error" in outcome:
        error = outcome["error"]
        if error["type"] in ("ParamError", "UnsupportedCombination"):
            raise _ERRORS[error["type"]](error["field"], error["reason"])
        # The job's error text: viewers read and export it, so no URL in it may carry a password.
        raise _ERRORS.get(error["type"], EngineError)(redact(error["message"]))
    tail = "\n".join(outcome.get("log", [])[-5:])
    raise WorkerFailed(f"{ended} and no result: {tail}")


def _read(
    child: subprocess.Popen[str],
    outcome: dict[str, Any],
    on_progress: ProgressCallback | None,
    on_log: LogCallback | None,
    on_start: StartCallback | None = None,
) -> None:
    assert child.stdout is not None
    log: list[str] = outcome.setdefault("log", [])
    for raw in child.stdout:
        line = raw.rstrip("\n")
        event = wire.parse_line(line)
        if event is None:
            line = redact(line)  # the job's log, as readable as its error text
            log.append(line)
            del log[:-100]
            if on_log is not None:
                on_log(line)
        elif event["kind"] == "progress":
            if on_progress is not None:
                span = UnitSpan(**event["span"])
                on_progress(event["done"], event["total"], span.worker, event["elapsed"], span)
        elif event["kind"] == "start":
            if on_start is not None:
                on_start(event["unit"], event["worker"], event["start"])
        elif event["kind"] in ("result", "error"):
            outcome[event["kind"]] = event["data"]
        elif event["kind"] == "taken":
            outcome["taken"] = True


def main() -> int:
    # If the Celery worker is killed (kill -9), take the pool children, Redis workers and MPI ranks down too.
    die_with_parent()
    # A process of the run's own, with what a Redis worker imports (the warm engine's imports, or the run's
    # connect): the subprocesses backend forks its workers from it rather than start an interpreter each.
    subprocesses.BACKEND.fork_workers = True
    warm = "--warm" in sys.argv
    if warm:
        with open("/proc/self/comm", "rb") as comm:
            name = comm.read().strip()
        _set_name(WARM_NAME.encode())
        _import_everything()
    text = sys.stdin.read()
    if not text:  # a warm engine let go (stale, or its worker exited) before any run
        return 0
    if warm:
        _set_name(name)
    request = RunRequest(**wire.loads(text))
    lock = threading.Lock()

    def emit(kind: str, **fields: Any) -> None:
        with lock:
            sys.stdout.write(wire.event_line(kind, **fields) + "\n")
            sys.stdout.flush()

    # From here on, the run is this engine's: killed now, it must not be run again in another (run_isolated).
    emit("taken")

    def on_progress(done: int, total: int, worker: int, elapsed: float, span: UnitSpan) -> None:
        emit("progress", done=done, total=total, elapsed=elapsed, span=span.as_dict())

    def on_start(unit: int, worker: int, start: float) -> None:
        emit("start", unit=unit, worker=worker, start=start)

    def on_log(line: str) -> None:
        with lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    try:
        # Our parent wrote the request from a CheckedRequest (_send, or kernels/slurm.py's batch script),
        # so it is not checked again here (nor, in turn, by each MPI rank).
        result = run(CheckedRequest.trusted(request), on_progress=on_progress, on_log=on_log, on_start=on_start)
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
