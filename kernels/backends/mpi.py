"""MPI ranks: ``mpiexec -n W python -m kernels.mpi.<program>``, progress read from their stdout.

MPI comes from the ``mpich`` wheel, whose ``mpiexec`` sits next to this Python, so no system
MPI is needed. A hostfile (option ``hostfile`` or ``PARALAB_MPI_HOSTFILE``) spreads ranks over hosts.
Ranks that do not all start and reach each other within the startup limit (option
``startup_timeout`` or ``PARALAB_MPI_STARTUP_TIMEOUT``, seconds) end the run at once.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from typing import Any

from kernels import wire
from kernels.backends.base import POLL, Backend, KeptThread, RunSpec, kill_session
from kernels.errors import EngineError, WorkerFailed

# Seconds from mpiexec's start until every rank has started and exchanged a message with every other
# (kernels.mpi.common.connect_all). A host that does not answer ssh, a rank that dies before MPI is up,
# or hosts that cannot reach each other otherwise leave the ranks waiting until the job's time limit
# (Hydra waits for every rank; those that are up spin in MPI_Init). Generous for ssh and imports on a
# loaded machine: a healthy 6-rank ring across three containers is up in about 2 s.
STARTUP_TIMEOUT = 60.0


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
        ranks, extra = self.layout(spec)
        payload = wire.dumps(
            {
                "workload": spec.workload.name,
                "params": spec.params,
                "implementation": spec.implementation,
                "started_at": spec.reporter.started_at,
                **extra,
            }
        )
        command = mpi_command(spec.workload.mpi_program, ranks, payload, hostfile)
        env = {**os.environ, **spec.options.get("mpi_env", {})}
        startup_timeout = float(
            spec.options.get("startup_timeout") or os.environ.get("PARALAB_MPI_STARTUP_TIMEOUT") or STARTUP_TIMEOUT
        )
        child = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, process_group=0, env=env
        )
        started = time.monotonic()
        outcome: dict[str, Any] = {}
        ready = threading.Event()
        reader = KeptThread(self._read, child, spec, outcome, ready, name="paralab-mpi-reader")
        reader.start()
        try:
            while reader.is_alive():
                if spec.cancel.is_set():
                    kill_session(child)
                    spec.check_cancel()
                if not ready.is_set() and time.monotonic() - started > startup_timeout:
                    kill_session(child)
                    reader.join(timeout=2)
                    raise WorkerFailed(
                        f"MPI ranks did not start or connect within {startup_timeout:g} s "
                        f"({ranks} ranks{', hostfile ' + hostfile if hostfile else ''}): {self._tail(spec)}"
                    )
                reader.join(POLL)
            reader.check()  # a callback that failed: mpiexec goes (below) and the run fails with its error
            code = child.wait()
        except BaseException:
            kill_session(child)
            reader.join(timeout=2)  # mpiexec is dead: its pipe is at EOF; don't leave a reader mid-read
            raise
        if "results" not in outcome:
            raise WorkerFailed(f"mpiexec exited with code {code} and no result: {self._tail(spec)}")
        return outcome["results"]

    def layout(self, spec: RunSpec) -> tuple[int, dict[str, Any]]:
        """How many ranks to start, and what the MPI program gets besides the run (hybrid: threads per rank)."""
        return spec.workers, {}

    @staticmethod
    def _tail(spec: RunSpec) -> str:
        """mpiexec's last words (its stderr is merged into the log): why the ranks failed."""
        lines = [line for line in spec.reporter.log_lines if line.strip()]
        return "\n".join(lines[-5:]) or "no output"

    @staticmethod
    def _read(child: subprocess.Popen[str], spec: RunSpec, outcome: dict[str, Any], ready: threading.Event) -> None:
        assert child.stdout is not None
        for line in child.stdout:
            event = wire.parse_line(line.rstrip("\n"))
            if event is None:
                spec.reporter.log(line.rstrip("\n"))
            elif event["kind"] == "ready":
                ready.set()
            elif event["kind"] == "start":
                spec.reporter.unit_started(event["unit"], event["worker"], event["start"])
            elif event["kind"] == "unit":
                spec.reporter.unit_done(event["unit"], event["worker"], event["start"], event["end"], event.get("cpu"))
            elif event["kind"] == "result":
                outcome["results"] = event["results"]


BACKEND = MpiBackend()
