"""MPI ranks: ``mpiexec -n W python -m kernels.mpi.<program>``, progress read from their stdout.

MPI comes from the ``mpich`` wheel, whose ``mpiexec`` sits next to this Python, so no system
MPI is needed. A hostfile (option ``hostfile`` or ``PARALAB_MPI_HOSTFILE``) spreads ranks over hosts.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from typing import Any

from kernels import wire
from kernels.backends.base import POLL, Backend, RunSpec, kill_session
from kernels.errors import EngineError, WorkerFailed


def mpiexec_path() -> str:
    found = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or shutil.which("mpiexec")
    if found is None:
        raise EngineError("mpiexec not found: install the mpich and mpi4py wheels (make install)")
    return found


def mpi_command(program: str, workers: int, spec_json: str, hostfile: str | None = None) -> list[str]:
    command = [mpiexec_path(), "-n", str(workers)]
    if hostfile:
        command += ["-f", hostfile]
    # No -u: each print(..., flush=True) must reach the pipe as one write, or lines from
    # different ranks interleave in mpiexec's output.
    return command + [sys.executable, "-m", program, spec_json]


class MpiBackend(Backend):
    name = "mpi"

    def run(self, spec: RunSpec) -> list[Any]:
        hostfile = spec.options.get("hostfile") or os.environ.get("PARALAB_MPI_HOSTFILE") or None
        payload = wire.dumps(
            {
                "workload": spec.workload.name,
                "params": spec.params,
                "implementation": spec.implementation,
                "started_at": spec.reporter.started_at,
            }
        )
        command = mpi_command(spec.workload.mpi_program, spec.workers, payload, hostfile)
        env = {**os.environ, **spec.options.get("mpi_env", {})}
        child = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True, env=env
        )
        outcome: dict[str, Any] = {}
        reader = threading.Thread(target=self._read, args=(child, spec, outcome), daemon=True)
        reader.start()
        try:
            while reader.is_alive():
                if spec.cancel.is_set():
                    kill_session(child)
                    spec.check_cancel()
                reader.join(POLL)
            code = child.wait()
        except BaseException:
            kill_session(child)
            reader.join(timeout=2)  # mpiexec is dead: its pipe is at EOF; don't leave a reader mid-read
            raise
        if "results" not in outcome:
            tail = "\n".join(spec.reporter.log_lines[-5:])
            raise WorkerFailed(f"mpiexec exited with code {code} and no result: {tail}")
        return outcome["results"]

    @staticmethod
    def _read(child: subprocess.Popen[str], spec: RunSpec, outcome: dict[str, Any]) -> None:
        assert child.stdout is not None
        for line in child.stdout:
            event = wire.parse_line(line.rstrip("\n"))
            if event is None:
                spec.reporter.log(line.rstrip("\n"))
            elif event["kind"] == "unit":
                spec.reporter.unit_done(event["unit"], event["worker"], event["start"], event["end"])
            elif event["kind"] == "result":
                outcome["results"] = event["results"]


BACKEND = MpiBackend()
