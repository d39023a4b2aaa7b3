"""Measuring the measurement: CPU time, the host's load and steal around a run, and when a timing can't be trusted.

A wall time is only a measurement of the workload when the run had the CPUs it asked for and the
work outweighed the fixed cost of starting it. The rules here say when that was not so, in words a
study page can show next to the number.
"""

from __future__ import annotations

import os
import resource
import statistics
from dataclasses import dataclass
from typing import Any

# A unit that got less than this share of the CPU it should have had was slowed down by something else.
MIN_CPU_SHARE = 0.8
# More than this share of the host's CPU time taken by the hypervisor during the run (steal).
MAX_STEAL = 0.05
# A run whose fixed cost (start-up, teardown: wall time outside the units) exceeds this share of its
# wall time measures the overhead, not the workload.
MAX_OVERHEAD_SHARE = 0.1
MIN_UNIT_WALL = 0.01  # seconds: shorter units are below the resolution of a CPU-time reading


def cpu_seconds() -> float:
    """User + system CPU time of this process, its threads, and every child process it has waited for.

    The children's time is counted by the kernel when they are reaped, grandchildren included (pool
    workers, Redis workers, mpiexec and its ranks), so the difference around a run is the whole run's.
    """
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def host_sample() -> dict[str, Any]:
    """The host's 1-minute load and its CPU counters (jiffies: total and stolen), for a before/after pair."""
    sample: dict[str, Any] = {"load": round(os.getloadavg()[0], 2)}
    try:
        with open("/proc/stat") as stat:
            fields = [int(x) for x in stat.readline().split()[1:]]
    except (OSError, ValueError):  # not Linux: no steal figure
        return sample
    # user nice system idle iowait irq softirq steal [guest guest_nice: already inside user/nice]
    sample["jiffies"] = sum(fields[:8])
    sample["steal"] = fields[7] if len(fields) > 7 else 0
    return sample


def host_during(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What the host did while the run ran: load before and after, share of CPU time stolen."""
    during: dict[str, Any] = {"load_before": before.get("load"), "load_after": after.get("load")}
    total = after.get("jiffies", 0) - before.get("jiffies", 0)
    if total > 0:
        during["steal"] = round((after.get("steal", 0) - before.get("steal", 0)) / total, 4)
    return during


@dataclass(frozen=True)
class Verdict:
    """Whether a run's timing can be trusted, and why not."""

    disturbed: str  # "" when not disturbed, else the reason in plain words
    too_short: str  # "" when long enough to time, else the reason
    cpu_share: float | None  # median over units of CPU time / (expected CPU time while it ran)
    overhead: float | None  # seconds of the wall time outside any unit

    def as_dict(self) -> dict[str, Any]:
        return {
            "disturbed": self.disturbed,
            "too_short": self.too_short,
            "cpu_share": self.cpu_share,
            "overhead": self.overhead,
        }


def expected_cpu_share(backend: str, implementation: str, workers: int) -> float:
    """The CPU a unit gets while it runs on a quiet host: all of one core, except Python threads,
    which take turns holding the GIL (each of W busy threads gets about 1/W)."""
    return 1 / workers if backend == "threads" and implementation == "python" else 1.0


def judge(
    *,
    backend: str,
    implementation: str,
    workers: int,
    wall_time: float,
    spans: list[dict[str, Any]],
    host: dict[str, Any],
) -> Verdict:
    """Apply the rules: MIN_CPU_SHARE per unit (median), MAX_STEAL for the run, MAX_OVERHEAD_SHARE."""
    expected = expected_cpu_share(backend, implementation, workers)
    shares = [
        span["cpu"] / (span["end"] - span["start"]) / expected
        for span in spans
        if span.get("cpu") is not None and span["end"] - span["start"] >= MIN_UNIT_WALL
    ]
    cpu_share = round(statistics.median(shares), 3) if shares else None
    reasons = []
    if cpu_share is not None and cpu_share < MIN_CPU_SHARE:
        reasons.append(
            f"its units got {cpu_share:.0%} of the CPU they should have had while running "
            f"(under {MIN_CPU_SHARE:.0%}): other programs were competing for the cores"
        )
    steal = host.get("steal")
    if steal is not None and steal > MAX_STEAL:
        reasons.append(f"the hypervisor took {steal:.0%} of the host's CPU time during the run (steal)")
    overhead = None
    too_short = ""
    if spans and wall_time > 0:
        working = max(span["end"] for span in spans) - min(span["start"] for span in spans)
        overhead = round(max(0.0, wall_time - working), 4)
        if overhead > MAX_OVERHEAD_SHARE * wall_time:
            too_short = (
                f"too short to time: {overhead:.3g} s of its {wall_time:.3g} s went to starting and stopping, "
                f"more than {MAX_OVERHEAD_SHARE:.0%}; give it more work"
            )
    return Verdict("; ".join(reasons), too_short, cpu_share, overhead)
