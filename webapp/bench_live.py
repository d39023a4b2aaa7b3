"""`make bench-live`: live-path latencies and the web overhead on the seed's job, measured side by side.

Starts its own ASGI server (daphne) and Celery worker on a throw-away SQLite database and the
Redis at REDIS_URL, then measures:
  1. worker progress event → message received by a WebSocket client: p50/p95 over 250 events
     (published with the same function the worker uses, events.publish);
  2. submit → running with an idle worker: p50 over 20 small jobs (queued_at → started_at);
  3. the seed's fib job end to end through the API (POST, worker run, result saved, seen by a
     poller) against the same request in the bare engine, interleaved, median of 5 each.
Prints a table and writes build/bench-live.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
EVENTS = 250
SUBMITS = 20
ROUNDS = 5
SEED_JOB = {"workload": "fib", "params": {"ns": [38, 37, 36, 35, 34, 33]}, "backend": "processes", "workers": 2}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Stack:
    """daphne + a Celery worker on a private database and queue."""

    def __init__(self) -> None:
        BUILD.mkdir(exist_ok=True)
        self.db = BUILD / "bench-live.sqlite3"
        self.db.unlink(missing_ok=True)
        self.port = free_port()
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "webapp.settings",
            "DEBUG": "1",
            "DATABASE_URL": f"sqlite:///{self.db}",
            "PARALAB_QUEUE": f"bench-live-{os.getpid()}",
        }
        self.procs: list[subprocess.Popen[bytes]] = []

    def manage(self, *args: str) -> str:
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, check=True, capture_output=True, text=True
        ).stdout.strip()

    def start(self) -> str:
        self.manage("migrate", "--noinput")
        self.manage("demo_setup", "--username", "bench", "--password", "bench-password-1", "--team", "Bench")
        token = self.manage("create_token", "bench").splitlines()[-1]
        bin_dir = Path(sys.executable).parent
        log = open(BUILD / "bench-live-services.log", "w")
        for command in (
            [str(bin_dir / "daphne"), "-b", "127.0.0.1", "-p", str(self.port), "webapp.asgi:application"],
            [str(bin_dir / "celery"), "-A", "tasks", "worker", "-P", "threads", "--concurrency", "1",
             "--loglevel", "WARNING"],
        ):  # fmt: skip
            self.procs.append(
                subprocess.Popen(
                    command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                self.api("GET", "/api/v1/workloads/", token)
                break
            except OSError:
                time.sleep(0.2)
        self.wait_worker_ready()
        return token

    def wait_worker_ready(self) -> None:
        from tasks.celery import app

        app.conf.broker_url = self.env.get("REDIS_URL", "redis://127.0.0.1:6379/0")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if app.control.ping(timeout=0.5):
                return
        raise RuntimeError("the Celery worker did not answer")

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
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def wait_final(stack: Stack, token: str, job_id: int, poll: float = 0.01) -> dict[str, Any]:
    while True:
        job = stack.api("GET", f"/api/v1/jobs/{job_id}/", token)
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job
        time.sleep(poll)


def session_cookie(stack: Stack) -> str:
    """Log the bench user in through Django's session machinery, for the WebSocket handshake."""
    script = (
        "import django; django.setup();"
        "from django.contrib.auth import get_user_model; from django.test import Client; c = Client();"
        "c.force_login(get_user_model().objects.get(username='bench'));"
        "print(c.cookies['sessionid'].value)"
    )
    return subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=stack.env, check=True, capture_output=True, text=True
    ).stdout.strip()


async def measure_ws_latency(stack: Stack, job_id: int, cookie: str) -> list[float]:
    import websockets

    from webapp.jobs.events import job_group, publish

    url = f"ws://127.0.0.1:{stack.port}/ws/jobs/{job_id}/"
    headers = {"Cookie": f"sessionid={cookie}", "Origin": f"http://127.0.0.1:{stack.port}"}
    latencies: list[float] = []
    async with websockets.connect(url, additional_headers=headers) as ws:
        await ws.recv()  # the snapshot
        for seq in range(1, EVENTS + 1):
            await asyncio.to_thread(publish, job_group(job_id), {"kind": "bench", "seq": seq})
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), timeout=5))
                if message.get("kind") == "bench" and message["seq"] == seq:
                    latencies.append(time.time() - message["sent_at"])
                    break
            await asyncio.sleep(0.01)
    return latencies


async def api_job_seconds(stack: Stack, token: str, cookie: str) -> float:
    """POST the seed job, then wait for its final event on the WebSocket, as a browser would.

    Polling the API instead would steal CPU from the job on a 2-core machine and measure the poller.
    """
    import websockets

    start = time.perf_counter()
    job = await asyncio.to_thread(stack.api, "POST", "/api/v1/jobs/", token, SEED_JOB)
    url = f"ws://127.0.0.1:{stack.port}/ws/jobs/{job['id']}/"
    headers = {"Cookie": f"sessionid={cookie}", "Origin": f"http://127.0.0.1:{stack.port}"}
    async with websockets.connect(url, additional_headers=headers) as ws:
        while True:
            event = json.loads(await asyncio.wait_for(ws.recv(), timeout=300))
            if event.get("status") in ("succeeded", "failed", "cancelled"):
                elapsed = time.perf_counter() - start
                assert event["status"] == "succeeded" and event["verified"], event
                return elapsed


def bare_engine_seconds() -> float:
    code = (
        "import time; from kernels.engine import run, RunRequest;"
        f"t = time.perf_counter(); r = run(RunRequest('fib', {SEED_JOB['params']!r}, 'processes', 'python', 2));"
        "assert r.verified; print(time.perf_counter() - t)"
    )
    # A fresh interpreter, like the worker's engine process, so both sides pay the same start-up.
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")
    os.environ.setdefault("DEBUG", "1")
    stack = Stack()
    # Same database and queue prefix (so the same channel-layer groups) as the server and worker.
    os.environ["DATABASE_URL"] = stack.env["DATABASE_URL"]
    os.environ["PARALAB_QUEUE"] = stack.env["PARALAB_QUEUE"]
    import django

    django.setup()
    try:
        token = stack.start()
        job = stack.api("POST", "/api/v1/jobs/", token, {"workload": "fib", "params": {"ns": [5]}})
        wait_final(stack, token, job["id"])
        cookie = session_cookie(stack)
        latencies = asyncio.run(measure_ws_latency(stack, job["id"], cookie))

        waits = []
        for _ in range(SUBMITS):
            job = stack.api("POST", "/api/v1/jobs/", token, {"workload": "fib", "params": {"ns": [5]}})
            done = wait_final(stack, token, job["id"])
            waits.append(_seconds(done["started_at"]) - _seconds(done["queued_at"]))

        api_times, engine_times = [], []
        for _ in range(ROUNDS):
            engine_times.append(bare_engine_seconds())
            api_times.append(asyncio.run(api_job_seconds(stack, token, cookie)))
    finally:
        stack.stop()

    rows = [
        ("progress event → WebSocket client, p50", statistics.median(latencies) * 1000, "ms", None),
        ("progress event → WebSocket client, p95", percentile(latencies, 0.95) * 1000, "ms", ("≤", 100.0)),
        ("submit → running (idle worker), p50", statistics.median(waits) * 1000, "ms", ("≤", 100.0)),
        ("seed fib via API ÷ bare engine (median)", statistics.median(api_times) / statistics.median(engine_times), "×", ("≤", 1.05)),
    ]  # fmt: skip
    print(f"\n{'measure':46} {'value':>10}  target   verdict")
    report = []
    for name, value, unit, target in rows:
        verdict = "-" if target is None else ("PASS" if value <= target[1] else "MISS")
        target_text = "" if target is None else f"{target[0]} {target[1]:g}"
        print(f"{name:46} {value:>8.2f} {unit:2} {target_text:8} {verdict}")
        report.append({"measure": name, "value": value, "unit": unit, "target": target_text, "verdict": verdict})
    print(
        f"\n{len(latencies)} events; {SUBMITS} submissions; {ROUNDS} rounds of the seed job "
        f"(API {', '.join(f'{t:.2f}' for t in api_times)} s; engine {', '.join(f'{t:.2f}' for t in engine_times)} s)"
    )
    (BUILD / "bench-live.json").write_text(json.dumps(report, indent=2))
    return 0


def _seconds(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


if __name__ == "__main__":
    raise SystemExit(main())
