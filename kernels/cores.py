"""The cores a run may use on the host it runs on: what hybrid's default layout and the workers page count."""

from __future__ import annotations

import os

CORES_ENV = "PARALAB_CORES"


def usable_cores() -> int:
    """``PARALAB_CORES`` if set to a positive integer, else the cores this process may run on.

    The affinity mask is a container's cpuset or taskset's limit, not the machine's total; a CPU quota
    (``docker run --cpus``) is not in it, hence the setting, read on the host that runs the job.
    """
    configured = os.environ.get(CORES_ENV, "").strip()
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
