"""Scale a workload's parameters until its sequential baseline lasts at least a given time.

A run much shorter than its fixed start-up measures the start-up, not the workload (kernels/measurement.py
marks it "too short to time"). Calibrating measures the baseline at the size asked for, predicts the size
that lasts the target from the workload's cost model (``Workload.work``, ``Workload.scaled``) and
measures again, a few rounds at most: never beyond the parameter bounds or a time limit, and saying so
when one of them stops it short of the target.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kernels.workloads.base import Workload

MAX_ROUNDS = 4  # measurements per implementation: the first at the size asked for, then at most three more
# Aim this much above the target, so that the study's own runs, a little faster or slower than the
# calibration's (a warm engine, the host's drift), still last the target.
HEADROOM = 1.2
SHRINK = 1.25  # a scaling predicted to pass the time limit is tried again this much smaller
# A prediction in proportion to one reading grows the work at most this much: a reading of a few
# milliseconds (a problem that fits in cache) extrapolated a thousandfold overshot T five times over
# (montecarlo_pi native, 3 ms → 5.5 s for T = 1 s). Along a line through two readings it is not capped.
MAX_STEP = 30.0


@dataclass
class Calibration:
    """What calibrating one implementation did: each round's parameters and measured seconds, the
    parameters chosen and, when they fall short of the target, why."""

    target: float
    asked: dict[str, Any]
    rounds: list[tuple[dict[str, Any], float]] = field(default_factory=list)
    short: str = ""  # "" when the baseline lasts the target, else why it does not

    @property
    def params(self) -> dict[str, Any]:
        return self.rounds[-1][0] if self.rounds else self.asked

    @property
    def seconds(self) -> float | None:
        return self.rounds[-1][1] if self.rounds else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": self.asked,
            "to": self.params,
            "baseline": None if self.seconds is None else round(self.seconds, 4),
            "reached": not self.short,
            "short": self.short,
            "rounds": [{"params": params, "seconds": round(seconds, 4)} for params, seconds in self.rounds],
        }


def calibrate(
    workload: Workload,
    params: dict[str, Any],
    *,
    target: float,
    measure: Callable[[dict[str, Any]], float],
    limit: float,
    max_rounds: int = MAX_ROUNDS,
) -> Calibration:
    """Measure the baseline (``measure(params) -> seconds``) and scale ``params`` until it lasts ``target``.

    No scaling is predicted to last more than ``limit`` seconds; ``params`` are kept if their baseline
    already lasts the target (calibrating never shrinks a workload).
    """
    calibration = Calibration(target, dict(params))
    current, seconds = dict(params), measure(params)
    calibration.rounds.append((current, seconds))
    while seconds < target:
        if len(calibration.rounds) >= max_rounds:
            calibration.short = (
                f"after {max_rounds} measurements the baseline lasts {seconds:.3g} s, short of {target:g} s: "
                "the cost model keeps missing on this machine"
            )
            break
        factor = _factor(workload, calibration.rounds, target * HEADROOM)
        scaled = workload.scaled(current, factor)
        while factor > 1 and _predicted(workload, current, seconds, scaled) > limit:
            factor /= SHRINK
            scaled = workload.scaled(current, factor)
        if scaled == current:
            calibration.short = _stopped(workload, current, seconds, target, limit)
            break
        current, seconds = scaled, measure(scaled)
        calibration.rounds.append((current, seconds))
    return calibration


def _factor(workload: Workload, rounds: list[tuple[dict[str, Any], float]], aim: float) -> float:
    """How much more work should last ``aim`` seconds: in proportion to the last reading, or, from the
    second on, along the line through the last two (seconds = start-up + rate × work), so a first reading
    that was mostly start-up does not make every later prediction fall short."""
    params, seconds = rounds[-1]
    work = workload.work(params)
    if len(rounds) > 1:
        before, earlier = rounds[-2]
        rate = (seconds - earlier) / (work - workload.work(before)) if work != workload.work(before) else 0.0
        startup = seconds - rate * work
        if rate > 0 and aim > startup:
            return (aim - startup) / rate / work
    # A zero reading (a clock's resolution) would divide by zero: treat it as one microsecond.
    return min(MAX_STEP, aim / max(seconds, 1e-6))


def _predicted(workload: Workload, current: dict[str, Any], seconds: float, scaled: dict[str, Any]) -> float:
    return seconds * workload.work(scaled) / workload.work(current)


def _stopped(workload: Workload, current: dict[str, Any], seconds: float, target: float, limit: float) -> str:
    """Why no larger size was tried: the bounds, or the time limit."""
    if workload.scaled(current, target * HEADROOM / max(seconds, 1e-6)) == current:
        return (
            f"the parameter bounds stop it at {seconds:.3g} s, short of {target:g} s: "
            f"{workload.name} cannot be made larger than {_shown(current)}"
        )
    return (
        f"the time limit stops it at {seconds:.3g} s, short of {target:g} s: a larger size is predicted "
        f"to pass {limit:g} s"
    )


def _shown(params: dict[str, Any]) -> str:
    return ", ".join(f"{name}={value}" for name, value in params.items())


def changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[str, str]:
    """The parameters a calibration changed, from and to: ("ns=[20, 19]", "ns=[25, 24]"); ("", "") for none."""
    changed = {name: value for name, value in after.items() if before.get(name) != value}
    return _shown({name: before.get(name) for name in changed}), _shown(changed)
