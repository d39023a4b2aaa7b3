"""The seed's parent/child pattern: W separate ``python -m`` workers synchronised through Redis.

The parent pushes the units onto a Redis list (longest first); each child pops units until the
list is empty and pushes results back. Children run in their own session so a cancel kills
them all at once.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from typing import Any

from kernels import wire
from kernels.backends.base import POLL, Backend, RunSpec, kill_session
from kernels.errors import EngineError, WorkerFailed

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
KEY_TTL = 24 * 3600  # a crashed parent's lists vanish on their own


def redis_url(spec_options: dict[str, Any]) -> str:
    return spec_options.get("redis_url") or os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL


def connect(url: str) -> Any:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise EngineError(f"cannot reach Redis at {url} for the subprocesses backend: {exc}") from exc
    return client


def _pump_output(stream: Any, worker: int, spec: RunSpec) -> None:
    for line in stream:
        spec.reporter.log(f"[worker {worker}] {line.rstrip()}")


class SubprocessesBackend(Backend):
    name = "subprocesses"

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
                results[message["unit"]] = message["result"]
                spec.reporter.unit_done(message["unit"], message["worker"], message["start"], message["end"])
                remaining -= 1
        finally:
            for child in children:
                if child.poll() is None and remaining:
                    kill_session(child)
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
    ) -> tuple[subprocess.Popen[str], threading.Thread]:
        command = [
            sys.executable, "-u", "-m", "kernels.backends.redis_worker",
            "--redis", url, "--prefix", prefix, "--workload", spec.workload.name,
            "--implementation", spec.implementation, "--worker", str(worker),
            "--started-at", repr(spec.reporter.started_at),
        ]  # fmt: skip
        child = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
        )
        pump = threading.Thread(target=_pump_output, args=(child.stdout, worker, spec), daemon=True)
        pump.start()
        return child, pump


BACKEND = SubprocessesBackend()
