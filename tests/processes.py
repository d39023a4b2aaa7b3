"""Which processes the leftover-process checks count: the living ones, but a worker's idle warm engine."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import psutil

from kernels.isolated import WARM_NAME


def is_alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def is_run_process(proc: psutil.Process) -> bool:
    """Alive and not an idle warm engine (kernels/isolated.py): that one is the next run's, no past run's."""
    try:
        return is_alive(proc) and proc.name() != WARM_NAME
    except psutil.NoSuchProcess:
        return False


def run_processes(processes: Iterable[psutil.Process]) -> list[psutil.Process]:
    return [proc for proc in processes if is_run_process(proc)]


def processes_left(listing: Callable[[], Iterable[psutil.Process]], within: float = 10) -> list[psutil.Process]:
    """The run processes ``listing()`` still gives once there are none, or ``within`` seconds have passed:
    a wait, not a fixed sleep, so a loaded host that is slow to reap them does not fail the check."""
    deadline = time.monotonic() + within
    while (left := run_processes(listing())) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def run_processes_left(parent_pid: int, within: float = 10) -> list[psutil.Process]:
    """The run processes still below ``parent_pid`` once they are all gone, or ``within`` seconds have passed."""
    return processes_left(lambda: psutil.Process(parent_pid).children(recursive=True), within)
