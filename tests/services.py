"""Real services a test starts itself — Celery workers, ASGI servers, Redis — each in its own process group."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_line(path: Path, needle: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if needle in path.read_text(errors="replace"):
            return
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise RuntimeError(f"Celery worker not ready; its log:\n{path.read_text(errors='replace')[-3000:]}")


class ServiceProcess:
    """A real service (Celery worker, ASGI server, Redis) started by a test, in its own process group."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], ready: str, timeout: float = 60):
        BUILD.mkdir(exist_ok=True)
        self.log_path = BUILD / f"{name}.log"
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        _wait_for_line(self.log_path, ready, self.proc, timeout)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the main process only (its children must cope, as after a real crash)."""
        self.proc.send_signal(sig)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def service_env(**overrides: str) -> dict[str, str]:
    """The environment of a service process that shares the test database with the test process."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "PARALAB_TEST_DB_NAME": str(connection.settings_dict["NAME"]),
        **overrides,
    }


def start_worker(name: str, *, queues: list[str] | None = None, hostname: str = "", **env: str) -> ServiceProcess:
    """A `celery worker` with the threads pool (as in production); every queue of its prefix unless ``queues``."""
    command = [sys.executable, "-m", "celery", "-A", "tasks", "worker", "-P", "threads", "--concurrency", "1",
               "--loglevel", "INFO", "--hostname", hostname or f"{name}-{os.getpid()}@%h"]  # fmt: skip
    if queues:
        command += ["-Q", ",".join(queues)]
    return ServiceProcess(name, command, service_env(**env), ready="ready.")


def start_daphne(name: str, port: int, **env: str) -> ServiceProcess:
    """The ASGI server `make run` uses, serving HTTP and WebSockets on 127.0.0.1:port."""
    command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "webapp.asgi:application"]
    return ServiceProcess(name, command, service_env(**env), ready="Listening on TCP address")
