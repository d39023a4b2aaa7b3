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
            result, start, end = timed(spec.workload, spec.implementation, unit, spec.reporter.started_at)
            results.append(result)
            spec.reporter.unit_done(index, 0, start, end)
        return results


BACKEND = SequentialBackend()
