"""Which processes the leftover-process checks count: the living ones, but a worker's idle warm engine."""

from __future__ import annotations

from collections.abc import Iterable

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
