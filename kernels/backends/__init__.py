"""Execution backends: how units are spread over W workers."""

from __future__ import annotations

import importlib

from kernels.backends.base import Backend

_MODULES = {
    "sequential": "kernels.backends.sequential",
    "threads": "kernels.backends.threads",
    "processes": "kernels.backends.processes",
    "subprocesses": "kernels.backends.subprocesses",
    "mpi": "kernels.backends.mpi",
    "openmp": "kernels.backends.openmp",
    "hybrid": "kernels.backends.hybrid",
}


def get_backend(name: str) -> Backend:
    return importlib.import_module(_MODULES[name]).BACKEND
