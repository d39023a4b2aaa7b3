"""What every backend offers, and the helpers they share."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psutil

from kernels.errors import Cancelled
from kernels.progress import Reporter
from kernels.workloads.base import Workload

POLL = 0.05  # seconds between checks of the cancel flag while waiting


@dataclass
class RunSpec:
    """Everything a backend needs to run one job's units."""

    workload: Workload
    params: dict[str, Any]
    implementation: str
    workers: int
    units: list[Any]
    reporter: Reporter
    cancel: threading.Event
    options: dict[str, Any] = field(default_factory=dict)
    # How the backend laid the workers out, when it had a choice to make (hybrid: ranks × threads).
    layout: dict[str, Any] = field(default_factory=dict)

    def check_cancel(self) -> None:
        if self.cancel.is_set():
            raise Cancelled("cancelled")

    def longest_first(self) -> list[int]:
        """Unit indexes, most expensive first, so uneven lists (like the seed's) balance."""
        return sorted(range(len(self.units)), key=lambda i: -self.workload.cost(self.units[i]))


class Backend:
    name = ""

    def run(self, spec: RunSpec) -> list[Any]:
        """Run every unit and return their results in unit order."""
        raise NotImplementedError


def timed(workload: Workload, implementation: str, unit: Any, started_at: float) -> tuple[Any, float, float, float]:
    """(result, start, end, cpu): wall times since the run started, and the CPU time of this thread."""
    cpu, start = time.thread_time(), time.time() - started_at
    result = workload.execute(implementation, unit)
    return result, start, time.time() - started_at, time.thread_time() - cpu


def kill_process_tree(root: int | psutil.Process, include_root: bool = True, timeout: float = 2.0) -> None:
    """SIGKILL a process and all its descendants, and reap them."""
    try:
        proc = root if isinstance(root, psutil.Process) else psutil.Process(root)
        # Deepest first: a process woken by its child's death (mpiexec's parent, say) may exit and
        # take this very thread with it, so the leaves (MPI ranks, pool children) must go first.
        victims = list(reversed(proc.children(recursive=True))) + ([proc] if include_root else [])
    except psutil.NoSuchProcess:
        return
    for victim in victims:
        try:
            victim.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(victims, timeout=timeout)


def kill_session(popen: subprocess.Popen[Any]) -> None:
    """Kill a child started with ``process_group=0``, its process group and all its descendants.

    The descendants are listed *before* the group dies: once it has, they are re-parented to init
    and no longer findable, and some (mpiexec, Redis workers) run in process groups of their own.
    """
    if popen.returncode is not None:  # killed and reaped already (a second call): its pid may be another's now
        return
    try:
        descendants = psutil.Process(popen.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        descendants = []
    try:
        os.killpg(popen.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    for proc in descendants:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    kill_process_tree(popen.pid, include_root=False)  # while it is unreaped, so its pid is still its own
    popen.kill()  # in case it left its group
    psutil.wait_procs(descendants, timeout=2.0)
    # Reaped by popen itself, never by psutil: a child psutil reaped first reads as "exited with code 0".
    popen.wait()


# Set in the environment of an isolated run's engine; every process it starts inherits it (MPI
# ranks too: Hydra passes the environment on), so the whole run can be found even after some of
# its processes have been re-parented away from the tree.
RUN_ENV = "PARALAB_RUN"


def kill_run(run_id: str | None, *, spare: int | None = None) -> None:
    """SIGKILL every process carrying ``PARALAB_RUN=run_id`` (but ``spare``), and reap them."""
    if not run_id:
        return
    victims = []
    for proc in psutil.process_iter():
        try:
            if proc.pid != spare and proc.environ().get(RUN_ENV) == run_id:
                proc.kill()
                victims.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            pass
    psutil.wait_procs(victims, timeout=2.0)


class KeptThread(threading.Thread):
    """A daemon thread running ``target(*args)`` that keeps what it returned or raised, where a plain thread
    would drop the one and print the other: the thread waiting on it calls ``check()`` to raise the error
    there (a failed progress callback on an engine's reader thread fails the run with its own error, not
    "exited with no result"), then reads ``result``."""

    def __init__(self, target: Callable[..., Any], *args: Any, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self._call = (target, args)
        self.result: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        target, args = self._call
        try:
            self.result = target(*args)
        except BaseException as exc:  # raised again by check(), in the thread that acts on it
            self.error = exc

    def check(self) -> None:
        if self.error is not None:
            raise self.error


def die_with_parent() -> None:
    """Watch (in a daemon thread) for this process's parent to die, then kill everything below us and exit.

    A child started in its own process group is not killed with its parent's group, so without
    this a `kill -9` of the parent (a Celery worker, the engine process) would leave it running.
    """
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        kill_process_tree(os.getpid(), include_root=False, timeout=1.0)
        kill_run(os.environ.get(RUN_ENV), spare=os.getpid())
        os._exit(1)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()
