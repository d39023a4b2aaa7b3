"""The services a benchmark of the whole service measures, started on a throw-away database and queue prefix.

A Celery worker (threads pool, as deployed) and, for the API and WebSockets, daphne; each in a session of
its own, on a private SQLite database and queue prefix and the Redis at REDIS_URL, so a benchmark neither
sees nor disturbs another's jobs. ``make bench-live`` starts both, ``make bench-study`` the worker alone.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Stack:
    """daphne and/or a Celery worker on a private database and queue prefix; ``stop`` ends them and drops the database."""

    def __init__(self, name: str, **env: str) -> None:
        BUILD.mkdir(exist_ok=True)
        self.name = f"{name}-{os.getpid()}"
        self.db = BUILD / f"{self.name}.sqlite3"
        self.db.unlink(missing_ok=True)
        self.port = free_port()
        self.worker_name = f"{self.name}@{socket.gethostname()}"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "webapp.settings",
            "DEBUG": "1",
            "DATABASE_URL": f"sqlite:///{self.db}",
            "PARALAB_QUEUE": self.name,
            **env,
        }
        self.log_path = BUILD / f"{name}-services.log"
        self.log_path.write_text("")
        self.procs: list[subprocess.Popen[bytes]] = []
        self.worker: subprocess.Popen[bytes] | None = None
        self.web_pid = 0

    def use_here(self) -> None:
        """Set Django up in this process on the stack's database and queue prefix (so the same channel-layer groups)."""
        for key in ("DJANGO_SETTINGS_MODULE", "DEBUG", "DATABASE_URL", "PARALAB_QUEUE"):
            os.environ[key] = self.env[key]
        import django

        django.setup()

    def manage(self, *args: str) -> str:
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, check=True, capture_output=True, text=True
        ).stdout.strip()

    def migrate(self) -> None:
        self.manage("migrate", "--noinput")

    def start(self) -> str:
        """The whole stack: the database, a user with an API token (returned), daphne, then the worker."""
        self.migrate()
        token = self.start_web()
        self.start_worker()
        return token

    def start_web(self) -> str:
        """daphne on a free port, once it answers; returns an API token of the bench user."""
        self.manage("demo_setup", "--username", "bench", "--password", "bench-password-1", "--team", "Bench")
        token = self.manage("create_token", "bench").splitlines()[-1]
        command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "webapp.asgi:application"]
        self.web_pid = self._spawn(command).pid
        deadline = time.monotonic() + 60
        while True:
            try:
                self.api("GET", "/api/v1/workloads/", token)
                return token
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def start_worker(self, loglevel: str = "WARNING") -> subprocess.Popen[bytes]:
        """A Celery worker serving every queue of the prefix, once it answers a ping."""
        self.worker = self._spawn(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "tasks",
                "worker",
                "-P",
                "threads",
                "--concurrency",
                "1",
                "--loglevel",
                loglevel,
                "--hostname",
                self.worker_name,
            ]  # fmt: skip
        )
        from webapp.celery import app

        app.conf.broker_url = self.env.get("REDIS_URL", "redis://127.0.0.1:6379/0")
        deadline = time.monotonic() + 60
        # Ping this worker by name: any other on the same Redis (another benchmark's) would answer too.
        while not app.control.ping(destination=[self.worker_name], timeout=0.5):
            if self.worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Celery worker did not answer; its log: {self.log_path}")
        return self.worker

    def _spawn(self, command: list[str]) -> subprocess.Popen[bytes]:
        with open(self.log_path, "a") as log:
            proc = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.procs.append(proc)
        return proc

    def api(self, method: str, path: str, token: str, body: Any = None) -> Any:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def stop(self) -> None:
        for proc in self.procs:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.db.unlink(missing_ok=True)
