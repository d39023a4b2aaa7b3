"""Run a job on a Slurm cluster: the engine process of a local run, started by ``sbatch`` in an allocation.

The batch script runs ``python -m kernels.isolated`` (the MPI backend's ``mpiexec`` then starts its ranks
on the allocation's nodes: Hydra reads them from Slurm), with the request in the script itself. Its
JSON-line events go to the job's output file, which the worker reads as it grows, so the output
directory must be one the worker and the compute nodes share. The job is followed with ``squeue``
(state and reason), finished with ``scontrol``/``sacct`` (how it ended, accounting) and cancelled with
``scancel``; Slurm's own commands are the interface because every login node has them, they need no
extra daemon (``slurmrestd``) and they give the state and reason exactly as the cluster's admins see them.
"""

from __future__ import annotations

import math
import os
import shlex
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

from kernels import wire
from kernels.backends.base import POLL, RUN_ENV, KeptThread
from kernels.engine import CheckedRequest, RunResult
from kernels.errors import Cancelled, DeadlineExceeded, EngineError, WorkerFailed
from kernels.isolated import _read, outcome_result
from kernels.progress import LogCallback, ProgressCallback

SQUEUE_EVERY = 1.0  # seconds between squeue calls for one job: live enough, and light on slurmctld
COMMAND_TIMEOUT = 30.0  # a Slurm command that takes longer means slurmctld is not answering
CANCEL_WAIT = 60.0  # scancel's SIGTERM, KillWait (30 s by default), SIGKILL, then the nodes report back
# The sweeper cancels the Slurm job of a job whose worker was lost; it waits this long for the job to leave
# the queue, then says it is still there: the sweep must not stall behind one slow cancel.
ORPHAN_WAIT = 15.0
# slurmctld tells slurmdbd of a job's and its steps' ends after they leave the queue, through a queue of
# its own: a busy or restarting slurmdbd records them late. Wait that long, then keep what sacct has.
ACCOUNTING_WAIT = 10.0
ACCOUNTING_EVERY = 0.5

# Slurm job states (squeue(1), "JOB STATE CODES") by what they mean for the job.
WAITING = {"PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD", "SUSPENDED"}
RUNNING = {"RUNNING", "COMPLETING", "STAGE_OUT", "SIGNALING", "RESIZING"}
ENDED = {"COMPLETED", "FAILED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "CANCELLED", "PREEMPTED", "BOOT_FAIL",
         "DEADLINE", "SPECIAL_EXIT", "REVOKED"}  # fmt: skip

# Variables that must not reach the batch job: the web service's secrets (the engine needs none of
# them, and a job's environment is readable on the cluster), and the worker's own MPI placement and
# core count, which would override the nodes Slurm gives the job and the cores counted on them.
_WITHHELD = ("SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL", "PARALAB_MPI_HOSTFILE", "HYDRA_LAUNCHER",
             "HYDRA_LAUNCHER_EXEC", "HYDRA_HOST_FILE", "HYDRA_BOOTSTRAP", "HYDRA_BOOTSTRAP_EXEC",
             "PARALAB_CORES")  # fmt: skip
_SECRET_WORDS = ("PASSWORD", "SECRET", "TOKEN")


@dataclass(frozen=True)
class SlurmOptions:
    """Where and how jobs are submitted; empty strings leave the choice to Slurm (the cluster's defaults)."""

    workdir: str  # a directory the worker and the compute nodes share: job output is read from there
    partition: str = ""
    account: str = ""
    qos: str = ""
    constraint: str = ""

    def sbatch_args(self) -> list[str]:
        named = {"--partition": self.partition, "--account": self.account, "--qos": self.qos,
                 "--constraint": self.constraint}  # fmt: skip
        return [arg for flag, value in named.items() if value for arg in (flag, value)]


@dataclass
class SlurmJob:
    """What is known of one Slurm job; ``record`` is what goes into the job's provenance."""

    job_id: str
    state: str = ""  # not seen in the queue yet
    reason: str = ""
    nodes: str = ""
    partition: str = ""
    detail: dict[str, Any] = field(default_factory=dict)  # scontrol's and sacct's last word on it

    @property
    def text(self) -> str:
        """The state in words, for the job page: "queued in Slurm: Resources"."""
        reason = "" if self.reason in ("", "None", "(null)") else self.reason
        if self.state in WAITING:
            return "queued in Slurm" + (f": {reason}" if reason else "")
        if self.state in RUNNING:
            return "running in Slurm" + (f" on {self.nodes}" if self.nodes else "")
        if not self.state:
            return "submitted to Slurm"
        return f"ended in Slurm: {self.state}" + (f" ({reason})" if reason else "")

    def record(self) -> dict[str, Any]:
        return {"scheduler": "slurm", **asdict(self), "text": self.text}


SchedulerCallback = Callable[[SlurmJob], None]
StartCallback = Callable[[int, int, float], None]  # on_start(unit, worker, start), as run_isolated's


def run_slurm(
    checked: CheckedRequest,
    *,
    options: SlurmOptions,
    name: str = "paralab",
    on_progress: ProgressCallback | None = None,
    on_log: LogCallback | None = None,
    on_start: StartCallback | None = None,
    on_scheduler: SchedulerCallback | None = None,
    cancel: threading.Event | None = None,
    timeout: float | None = None,
) -> RunResult:
    """``run_isolated``'s contract, run as a Slurm batch job; ``on_scheduler`` hears each change of its Slurm state.

    The time limit counts from the moment Slurm starts the job (a job waiting in the queue uses no
    cores) and is also the job's ``--time``, rounded up to whole minutes, so Slurm enforces it too.
    """
    cancel = cancel or threading.Event()
    run_id = uuid.uuid4().hex
    rundir = Path(options.workdir) / f"{name}-{run_id[:12]}"
    rundir.mkdir(parents=True)
    try:
        job = _submit(checked, options, name, rundir, run_id, timeout)
        return _follow(job, rundir / "output.log", (on_progress, on_log, on_start), on_scheduler, cancel, timeout)
    finally:
        shutil.rmtree(rundir, ignore_errors=True)


def batch_script(checked: CheckedRequest) -> str:
    """The engine, with the request in the script itself: sbatch sends the script to the cluster, so no
    file of ours has to be readable on the compute node but the output it writes. The engine trusts it
    (kernels/isolated.py's main), as it trusts run_isolated's: it is a checked request's."""
    payload = wire.dumps(asdict(checked.request))
    return (
        "#!/bin/sh\n"
        "# A Paralab job: the same engine process as a run on the worker's host, inside this allocation.\n"
        f"exec {shlex.quote(sys.executable)} -m kernels.isolated <<'PARALAB_REQUEST'\n{payload}\nPARALAB_REQUEST\n"
    )


def job_environment(environ: dict[str, str], backend: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in environ.items()
        if key not in _WITHHELD and not any(word in key.upper() for word in _SECRET_WORDS)
    }
    if backend != "subprocesses":  # the only backend that talks to Redis from the job
        env.pop("REDIS_URL", None)
    return env


def _submit(
    checked: CheckedRequest, options: SlurmOptions, name: str, rundir: Path, run_id: str, timeout: float | None
) -> SlurmJob:
    request = checked.request
    if request.backend == "mpi":
        shape = ["--ntasks", str(request.workers)]  # one rank per task, wherever Slurm finds the CPUs
    else:  # the other backends run on one host: one task with a CPU per worker
        shape = ["--nodes", "1", "--ntasks", "1", "--cpus-per-task", str(request.workers)]
    command = ["sbatch", "--parsable", "--job-name", name, "--output", str(rundir / "output.log"),
               "--chdir", str(rundir), "--no-requeue", *shape, *options.sbatch_args()]  # fmt: skip
    if timeout is not None:
        command += ["--time", str(max(1, math.ceil(timeout / 60)))]  # minutes
    env = {**job_environment(dict(os.environ), request.backend), RUN_ENV: run_id}
    done = _slurm(command, input=batch_script(checked), env=env)
    if done.returncode != 0:
        raise WorkerFailed(f"sbatch refused the job: {_words(done)}")
    job_id = done.stdout.strip().split(";")[0]  # --parsable: "id" or "id;cluster"
    return SlurmJob(job_id=job_id, partition=options.partition)


def _follow(
    job: SlurmJob,
    output: Path,
    callbacks: tuple[ProgressCallback | None, LogCallback | None, StartCallback | None],
    on_scheduler: SchedulerCallback | None,
    cancel: threading.Event,
    timeout: float | None,
) -> RunResult:
    on_log = callbacks[1]
    if on_log is not None:
        on_log(f"submitted to Slurm as job {job.job_id}")
    if on_scheduler is not None:  # its id, at once: if the worker dies now, the sweeper can still scancel it
        on_scheduler(job)
    ended = threading.Event()
    outcome: dict[str, Any] = {}
    # The output file as the engine process's stdout: the same reader as a local run parses it.
    reader = KeptThread(
        _read,
        cast(Any, _Output(_tail(output, ended))),
        outcome,
        *callbacks[:2],
        *[c for c in callbacks[2:] if c],
        name="paralab-slurm-reader",
    )
    reader.start()
    deadline = None
    polled = 0.0
    try:
        while True:
            if reader.error is not None:  # a callback failed: the run can no longer be followed, so it ends
                _cancel(job)
                reader.check()
            if cancel.is_set():
                _cancel(job)
                raise Cancelled("cancelled")
            if deadline is not None and time.monotonic() > deadline:
                _cancel(job)
                raise DeadlineExceeded(f"time limit of {timeout:g} s exceeded")
            if time.monotonic() - polled >= SQUEUE_EVERY:
                polled = time.monotonic()
                if _poll(job, on_log, on_scheduler) is None:
                    break  # no longer in the queue: it ended
                if deadline is None and timeout is not None and job.state in RUNNING:
                    deadline = time.monotonic() + timeout
            time.sleep(POLL)
    finally:
        ended.set()
        reader.join(timeout=10)
        _conclude(job)
        if on_scheduler is not None:
            on_scheduler(job)
    reader.check()  # a callback that failed fails the run with its own error
    if job.state == "TIMEOUT" and "result" not in outcome:
        raise DeadlineExceeded(f"Slurm's time limit for job {job.job_id} ({job.detail.get('TimeLimit', '?')}) exceeded")
    if job.state != "COMPLETED" and "result" not in outcome:
        reason = "" if job.reason in ("", "None") else f", reason {job.reason}"
        where = f" on {job.nodes}" if job.nodes else ""
        exit_code = job.detail.get("ExitCode", "?")
        slurm_words = f"Slurm job {job.job_id} ended {job.state}{reason} (exit code {exit_code}){where}"
        if "error" in outcome:  # the engine said why: keep its words, after Slurm's
            try:
                outcome_result(outcome, "")
            except EngineError as exc:
                raise type(exc)(f"{slurm_words}: {exc}") from None
        raise WorkerFailed(f"{slurm_words}: {' / '.join(outcome.get('log', [])[-5:]) or 'no output'}")
    return outcome_result(outcome, f"Slurm job {job.job_id} ended {job.state}")


def _poll(job: SlurmJob, on_log: LogCallback | None, on_scheduler: SchedulerCallback | None) -> SlurmJob | None:
    """The job's state from squeue, told when it changes; None once the job has left the queue."""
    done = _slurm(["squeue", "--noheader", "--jobs", job.job_id, "--states", "all", "--format", "%T|%r|%N|%P"])
    line = done.stdout.strip()
    if done.returncode != 0 and "Invalid job id" not in done.stderr:
        raise WorkerFailed(f"squeue failed while following Slurm job {job.job_id}: {_words(done)}")
    if not line:
        return None
    state, reason, nodes, partition = (line.split("|") + ["", "", ""])[:4]
    if (state, reason, nodes) != (job.state, job.reason, job.nodes):
        job.state, job.reason, job.nodes, job.partition = state, reason, nodes, partition
        if on_log is not None:
            on_log(f"Slurm job {job.job_id}: {job.text}")
        if on_scheduler is not None:
            on_scheduler(job)
    return None if state in ENDED else job


def _conclude(job: SlurmJob) -> None:
    """How the job ended (scontrol, while slurmctld remembers it: MinJobAge) and its accounting (sacct, where on)."""
    shown = show_job(job.job_id)
    if shown:
        job.state = shown.get("JobState", job.state)
        job.reason = shown.get("Reason", job.reason)
        job.nodes = shown.get("NodeList", job.nodes) if shown.get("NodeList") not in (None, "(null)") else job.nodes
        job.partition = shown.get("Partition", job.partition)
        keep = ("ExitCode", "RunTime", "TimeLimit", "SubmitTime", "StartTime", "EndTime", "BatchHost", "NumNodes",
                "NumCPUs", "NumTasks", "Account", "QOS", "Features")  # fmt: skip
        job.detail.update({key: shown[key] for key in keep if key in shown})
    job.detail["accounting"] = accounting(job.job_id)


def show_job(job_id: str) -> dict[str, str]:
    """``scontrol show job``'s fields (empty once slurmctld has forgotten the job)."""
    done = _slurm(["scontrol", "--oneliner", "show", "job", job_id])
    if done.returncode != 0:
        return {}
    fields: dict[str, str] = {}
    last = None
    for token in done.stdout.split():
        key, sep, value = token.partition("=")
        if sep and key.replace("/", "").replace(":", "").isalnum():
            fields[key], last = value, key
        elif last is not None:  # a value with spaces in it (a command, a comment)
            fields[last] += " " + token
    return fields


def accounting(job_id: str, wait: float = ACCOUNTING_WAIT) -> dict[str, Any]:
    """Elapsed time, CPU time and peak memory from sacct, or why there are none (no accounting storage).

    Waits up to ``wait`` seconds for sacct to record the end of the job and of each of its steps; past
    that the figures so far are kept, with ``final`` false and why.
    """
    deadline = time.monotonic() + wait
    while True:
        done = _slurm(["sacct", "--jobs", job_id, "--noheader", "--parsable2",
                       "--format", "JobID,State,Elapsed,TotalCPU,MaxRSS,NodeList"])  # fmt: skip
        if done.returncode != 0 or (done.stderr.strip() and not done.stdout.strip()):
            # No accounting storage, or slurmdbd not answering: waiting would not help.
            return {"available": False, "why": _words(done) or f"sacct failed (exit code {done.returncode})"}
        lines = done.stdout.strip().splitlines()
        steps = [dict(zip(("step", "state", "elapsed", "cpu_time", "max_rss", "nodes"), line.split("|"), strict=False))
                 for line in lines]  # fmt: skip
        # "CANCELLED by 0": the state is the first word.
        ended = bool(steps) and all(step.get("state", "").split(" ")[0] in ENDED for step in steps)
        if ended or time.monotonic() >= deadline:
            break
        time.sleep(ACCOUNTING_EVERY)
    if not steps:
        return {"available": False, "why": f"sacct had no record of the job {wait:g} s after it ended"}
    whole = steps[0]  # the job's own line, then its steps (batch, extern, 0, 1, ...)
    rss = [_bytes(step.get("max_rss", "")) for step in steps]
    record: dict[str, Any] = {
        "available": True,
        "final": ended,
        "job_id": whole.get("step", ""),
        "state": whole.get("state", ""),
        "elapsed": whole.get("elapsed", ""),
        "elapsed_seconds": _seconds(whole.get("elapsed", "")),
        "cpu_time": whole.get("cpu_time", ""),  # the job's line sums its steps'
        "cpu_seconds": _seconds(whole.get("cpu_time", "")),
        "max_rss_bytes": max((r for r in rss if r is not None), default=None),  # the largest step's peak
        "steps": steps,
    }
    if not ended:
        record["why"] = f"sacct had not recorded the end of the job and all its steps {wait:g} s after it ended"
    return record


def _seconds(text: str) -> float | None:
    """sacct's durations ("[D-][HH:]MM:SS[.mmm]": Elapsed "00:00:04", TotalCPU "00:02.305") in seconds."""
    days, _, clock = text.rpartition("-")
    try:
        total = 0.0
        for part in clock.split(":"):
            total = total * 60 + float(part)
        return total + 86400 * int(days or 0) if clock else None
    except ValueError:
        return None


def _bytes(text: str) -> int | None:
    """sacct's MaxRSS ("1234K", "12M") in bytes."""
    if not text:
        return None
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    unit = text[-1].upper()
    try:
        return int(float(text[:-1]) * scale[unit]) if unit in scale else int(text)
    except ValueError:
        return None


def _cancel(job: SlurmJob) -> None:
    """scancel, then wait until Slurm has ended every step on every node (the job leaves the queue)."""
    _slurm(["scancel", job.job_id])
    _left_queue(job.job_id, CANCEL_WAIT)


def _left_queue(job_id: str, wait: float) -> str:
    """Wait up to ``wait`` seconds for the job to leave the queue: "" once it has, else its state there."""
    deadline = time.monotonic() + wait
    while True:
        done = _slurm(["squeue", "--noheader", "--jobs", job_id, "--format", "%T"])
        state = done.stdout.strip()
        if done.returncode != 0 and "Invalid job id" not in done.stderr:  # not "gone": squeue could not tell
            state = f"unknown to squeue ({_words(done)})"
        if not state or time.monotonic() >= deadline:
            return state
        time.sleep(0.2)


def cancel_orphan(job_id: str, *, wait: float = ORPHAN_WAIT) -> tuple[bool, str]:
    """scancel a Slurm job whose worker is gone: whether it was cancelled, and what came of it in words for
    the job's error.

    Never raises: the sweeper calls it, maybe on a host without Slurm's commands, and a failed
    cancel must be said, not end the sweep. Bounded by COMMAND_TIMEOUT per command and ``wait``.
    """
    try:
        done = _slurm(["scancel", job_id])
        state = _left_queue(job_id, wait)
    except EngineError as exc:
        return False, f"its Slurm job {job_id} could not be cancelled: {exc}"
    if done.returncode != 0 and not state:  # e.g. "already completing or completed"
        return False, f"its Slurm job {job_id} had already ended ({_words(done)})"
    if done.returncode != 0:
        return False, f"its Slurm job {job_id} could not be cancelled: scancel said {_words(done)}"
    if state:
        return False, f"its Slurm job {job_id} was sent scancel but is still {state} after {wait:g} s"
    return True, f"its Slurm job {job_id} was cancelled"


class _Output:
    def __init__(self, lines: Iterator[str]):
        self.stdout = lines


def _tail(path: Path, ended: threading.Event) -> Iterator[str]:
    """The lines of a file another host is writing, as they come, until ``ended`` and the end of the file."""
    pending = ""
    offset = 0
    while True:
        finished = ended.is_set()  # read once more after the job ended: its last lines may be new
        try:
            with open(path, encoding="utf-8", errors="replace") as file:
                file.seek(offset)
                chunk = file.read()
                offset = file.tell()
        except FileNotFoundError:
            chunk = ""
        pending += chunk
        *lines, pending = pending.split("\n")
        yield from (line + "\n" for line in lines)
        if finished:
            if pending:
                yield pending + "\n"
            return
        time.sleep(POLL)


def _slurm(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, **kwargs)
    except FileNotFoundError:
        raise EngineError(f"{command[0]} not found: the worker needs Slurm's client commands (PATH)") from None
    except subprocess.TimeoutExpired:
        raise WorkerFailed(f"{command[0]} did not answer within {COMMAND_TIMEOUT:g} s (is slurmctld up?)") from None


def _words(done: subprocess.CompletedProcess[str]) -> str:
    return " ".join((done.stderr or done.stdout or "").split())[:500]


def submit_to_running(*, options: SlurmOptions | None = None, every: float = 0.02) -> float:
    """Seconds from ``sbatch`` to squeue's RUNNING for a one-task job (``make bench``'s Slurm row)."""
    args = options.sbatch_args() if options else []
    started = time.perf_counter()
    done = _slurm(["sbatch", "--parsable", "--ntasks", "1", "--time", "1", "--output", "/dev/null", *args,
                   "--wrap", "sleep 2"])  # fmt: skip
    if done.returncode != 0:
        raise WorkerFailed(f"sbatch refused the job: {_words(done)}")
    job_id = done.stdout.strip().split(";")[0]
    try:
        while True:
            state = _slurm(["squeue", "--noheader", "--jobs", job_id, "--states", "all", "--format", "%T"])
            if state.stdout.strip() in RUNNING | ENDED:
                return time.perf_counter() - started
            time.sleep(every)
    finally:
        _slurm(["scancel", job_id])


def cluster_missing() -> str | None:
    """Why no Slurm cluster answers here, or None."""
    if shutil.which("sinfo") is None:
        return "no Slurm client commands (sinfo) on this machine"
    try:
        done = subprocess.run(["sinfo", "--noheader", "--format", "%a"], capture_output=True, text=True, timeout=10)
    except subprocess.TimeoutExpired:
        return "sinfo did not answer in 10 s"
    if done.returncode != 0 or "up" not in done.stdout.split():
        last = (done.stderr.strip().splitlines() or ["sinfo found none"])[-1]
        return f"no Slurm partition is up ({last})"
    return None


def bench_submit_to_running(rounds: int = 5) -> dict[str, Any]:
    """``make bench``'s Slurm row: sbatch → RUNNING over a few one-task jobs, or why it was skipped."""
    why = cluster_missing()
    if why:
        return {"skipped": why}
    samples = sorted(submit_to_running() for _ in range(rounds))
    return {"rounds": rounds, "median": samples[len(samples) // 2], "min": samples[0], "max": samples[-1],
            "samples": [round(s, 3) for s in samples]}  # fmt: skip
