"""A remote-control inspect command, ``paralab_worker``: what this worker's machine offers (cores, MPI).

Celery's built-in inspect commands already tell a worker's queues, pool and current tasks; this one
adds what only the worker's own machine knows. Run it by hand with
``celery -A tasks inspect paralab_worker``; the workers page asks it through ``webapp.workers.selectors``.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import time
from importlib import metadata
from typing import Any

from celery.worker.control import inspect_command

from kernels.backends.mpi import mpiexec_path
from kernels.cores import usable_cores  # what hybrid's default layout counts on this host
from kernels.errors import EngineError


def hostfile_hosts(path: str) -> list[str]:
    """The host names in an MPICH hostfile (``host`` or ``host:slots`` per line, ``#`` comments)."""
    hosts = []
    with open(path) as lines:
        for line in lines:
            entry = line.split("#", 1)[0].strip()
            if entry:
                hosts.append(entry.split(":", 1)[0])
    return hosts


def mpi_status() -> dict[str, Any]:
    """Whether this worker can run MPI jobs (mpiexec and mpi4py), and over which hosts."""
    try:
        mpiexec = mpiexec_path()
    except EngineError:
        mpiexec = None
    hostfile = os.environ.get("PARALAB_MPI_HOSTFILE") or None
    try:
        hosts = hostfile_hosts(hostfile) if hostfile else []
        hostfile_error = ""
    except OSError as exc:
        hosts, hostfile_error = [], f"cannot read {hostfile}: {exc.strerror}"
    try:
        version = metadata.version("mpich")
    except metadata.PackageNotFoundError:
        version = None
    return {
        "available": mpiexec is not None and importlib.util.find_spec("mpi4py") is not None and not hostfile_error,
        "mpiexec": mpiexec,
        "version": version,
        "hostfile": hostfile,
        "hosts": hosts,
        "error": hostfile_error,
    }


@inspect_command()
def paralab_worker(state: Any, **kwargs: Any) -> dict[str, Any]:
    """This worker's host name, usable cores, MPI availability, clock (its heartbeat) and the jobs it runs.

    The jobs are its own word: a task's argument names the job that woke it, not necessarily the one
    it runs (fair share, webapp/jobs/fair_share.py).
    """
    from tasks.jobs import running_jobs

    return {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "cores": usable_cores(),
        "mpi": mpi_status(),
        "time": time.time(),
        "jobs": running_jobs(),
    }
