"""The seed's parent/child pattern: W separate ``python -m`` workers synchronised through Redis.

The parent pushes the units onto a Redis list (longest first); each child pops units until the
list is empty and pushes results back. Each child runs in a process group of its own, so a cancel
kills it whole.

Start cost (issue 13): a fresh interpreter spends ~0.17 s importing a worker (redis alone ~0.08 s)
before its first unit. In a run's own engine process (kernels/isolated.py), which has all that
imported already, the children are forks of the engine instead, running the same worker code
(``redis_worker.main``) with the same arguments, process groups, output and Redis protocol.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import traceback
import uuid
from typing import Any, NoReturn

from kernels import wire
from kernels.backends.base import POLL, Backend, RunSpec, kill_session
from kernels.errors import EngineError, WorkerFailed
from kernels.redaction import redact

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
# The children get the URL in their environment, which only their user can read; on the command line
# any local user would see its password in `ps`.
URL_ENV = "REDIS_URL"
KEY_TTL = 24 * 3600  # a crashed parent's lists vanish on their own (units: set here; results: by each push)


def redis_url(spec_options: dict[str, Any]) -> str:
    return spec_options.get("redis_url") or os.environ.get(URL_ENV) or DEFAULT_REDIS_URL


def connect(url: str) -> Any:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise EngineError(redact(f"cannot reach Redis at {url} for the subprocesses backend: {exc}")) from exc
    return client


def _pump_output(stream: Any, worker: int, spec: RunSpec) -> None:
    for line in stream:
        spec.reporter.log(f"[worker {worker}] {line.rstrip()}")


class ExecWorker(subprocess.Popen[str]):
    """A worker started as ``python -m kernels.backends.redis_worker``, in a process group of its own."""

    def stop(self) -> None:
        """It and whatever it started, killed and reaped."""
        kill_session(self)


class ForkedWorker:
    """A worker forked from this process, with what the run needs of an ``ExecWorker``: pid, stdout, poll,
    wait, stop."""

    def __init__(self, argv: list[str], url: str) -> None:
        from kernels.backends import redis_worker  # here, before the fork: the child imports nothing

        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            _work(redis_worker.main, argv, url, write_fd)
        os.close(write_fd)
        self.pid = pid
        self.returncode: int | None = None
        self.stdout = open(read_fd, encoding="utf-8", errors="replace")

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self) -> int:
        if self.returncode is None:
            self.returncode = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
        return self.returncode

    def stop(self) -> None:
        """Its group (it has no children of its own), then reaped here: psutil's wait would reap it behind our back."""
        for kill, target in ((os.killpg, self.pid), (os.kill, self.pid)):
            try:
                kill(target, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.wait()


def _work(main: Any, argv: list[str], url: str, output: int) -> NoReturn:
    """The forked child: a worker as ``python -u -m kernels.backends.redis_worker argv`` would be, then exit."""
    code = 1
    try:
        os.setpgid(0, 0)  # a group of its own, as process_group=0 gives an exec'd one
        os.dup2(output, 1)
        os.dup2(output, 2)
        os.close(output)
        sys.stdout = sys.stderr = open(1, "w", buffering=1, closefd=False)  # line-buffered, as -u
        os.environ[URL_ENV] = url
        code = main(argv)
    except BaseException:  # its last words reach the run's log, as an exec'd worker's traceback does
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
        finally:
            os._exit(code)


class SubprocessesBackend(Backend):
    name = "subprocesses"
    # Fork the workers from this process instead of starting fresh interpreters: set by a run's own engine
    # process (kernels/isolated.py), whose imports are already what a worker needs and which runs nothing else.
    fork_workers = False

    def run(self, spec: RunSpec) -> list[Any]:
        url = redis_url(spec.options)
        client = connect(url)
        prefix = f"paralab:run:{uuid.uuid4().hex}"
        units_key, results_key = f"{prefix}:units", f"{prefix}:results"
        order = spec.longest_first()
        client.rpush(units_key, *[wire.dumps([i, spec.units[i]]) for i in order])
        client.expire(units_key, KEY_TTL)
        started = [self._start_child(spec, url, prefix, worker) for worker in range(min(spec.workers, len(order)))]
        children = [child for child, _ in started]
        results: list[Any] = [None] * len(spec.units)
        remaining = len(spec.units)
        try:
            while remaining:
                spec.check_cancel()
                item = client.blpop([results_key], timeout=POLL)
                if item is None:
                    if all(child.poll() is not None for child in children):
                        codes = [child.returncode for child in children]
                        raise WorkerFailed(f"all subprocess workers exited (codes {codes}) with {remaining} units left")
                    continue
                message = wire.loads(item[1])
                if "error" in message:
                    raise WorkerFailed(f"worker {message['worker']}: {message['error']}")
                if "started" in message:
                    spec.reporter.unit_started(message["unit"], message["worker"], message["started"])
                    continue
                results[message["unit"]] = message["result"]
                spec.reporter.unit_done(
                    message["unit"], message["worker"], message["start"], message["end"], message.get("cpu")
                )
                remaining -= 1
        finally:
            for child in children:
                if child.poll() is None and remaining:
                    child.stop()
                else:
                    child.wait()
            # The children are gone, so their output pipes are at EOF: let the pumps finish, or the
            # interpreter may close a pipe under a pump at exit ("Bad file descriptor").
            for _, pump in started:
                pump.join(timeout=2)
            client.delete(units_key, results_key)
        return results

    def _start_child(
        self, spec: RunSpec, url: str, prefix: str, worker: int
    ) -> tuple[ExecWorker | ForkedWorker, threading.Thread]:
        argv = [
            "--prefix", prefix, "--workload", spec.workload.name,
            "--implementation", spec.implementation, "--worker", str(worker),
            "--started-at", repr(spec.reporter.started_at),
        ]  # fmt: skip
        child: ExecWorker | ForkedWorker
        if self.fork_workers:
            child = ForkedWorker(argv, url)
        else:
            child = ExecWorker(
                [sys.executable, "-u", "-m", "kernels.backends.redis_worker", *argv],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                process_group=0,  # killable as a group, in the run's session (equal CPU footing: kernels/isolated.py)
                env={**os.environ, URL_ENV: url},
            )
        pump = threading.Thread(target=_pump_output, args=(child.stdout, worker, spec), daemon=True)
        pump.start()
        return child, pump


BACKEND = SubprocessesBackend()
