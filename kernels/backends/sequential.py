"""Run the units one after another in this process: the baseline every speedup is measured from."""

from __future__ import annotations

from typing import Any

from kernels.backends.base import Backend, RunSpec, timed


class SequentialBackend(Backend):
    name = "sequential"

    def run(self, spec: RunSpec) -> list[Any]:
        results = []
        for index, unit in enumerate(spec.units):
            spec.check_cancel()
            spec.reporter.unit_started(index, 0, spec.reporter.now())
            result, start, end, cpu = timed(spec.workload, spec.implementation, unit, spec.reporter.started_at)
            results.append(result)
            spec.reporter.unit_done(index, 0, start, end, cpu)
        return results


BACKEND = SequentialBackend()
