"""Where and with what a run happened: host, CPU, cores, load, Python and library versions, commit."""

from __future__ import annotations

import functools
import os
import platform
import socket
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

import kernels

PACKAGES = ("numpy", "Cython", "mpi4py", "mpich")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


@functools.lru_cache(maxsize=1)
def _static() -> dict[str, Any]:
    root = Path(kernels.__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True, timeout=5
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return {
        "cpu_model": _cpu_model(),
        "logical_cores": psutil.cpu_count(logical=True),
        "physical_cores": psutil.cpu_count(logical=False),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": {name: _version(name) for name in PACKAGES},
        "paralab_version": kernels.__version__,
        "git_commit": commit or os.environ.get("PARALAB_GIT_COMMIT", ""),
    }


def collect() -> dict[str, Any]:
    """A provenance record for a run starting now."""
    return {"host": socket.gethostname(), "load_average": [round(x, 2) for x in os.getloadavg()], **_static()}
