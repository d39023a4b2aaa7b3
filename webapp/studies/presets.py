"""Ready-made studies, one click each on the studies page (and ``"preset": name`` in the API)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kernels.workloads.fib import SEED_NS


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    description: str
    workload: str
    params: dict[str, Any]
    backends: list[str]
    implementations: list[str] = field(default_factory=lambda: ["python"])


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            name="seed-fib",
            title="fib [38..33]: sequential vs threads vs processes vs subprocesses vs native vs MPI",
            description=(
                "The seed's Pool.map(fib, [38, 37, 36, 35, 34, 33]) on every backend, in pure Python and with "
                "the native kernel that releases the GIL. Threads stay near 1× (the GIL); processes, "
                "subprocesses and MPI approach the number of cores (the seed measured 1.8× on two); "
                "native threads scale because the C loop runs without the GIL."
            ),
            workload="fib",
            params={"ns": list(SEED_NS)},
            backends=["sequential", "threads", "processes", "subprocesses", "mpi"],
            implementations=["python", "native"],
        ),
    )
}
