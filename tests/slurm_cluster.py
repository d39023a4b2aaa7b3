"""A real Slurm cluster on this machine, for the Slurm tests and the benchmark: Debian's slurm-wlm and munge.

Everything it makes — munge key and socket, slurm.conf, state, spool, pid and log files — lives under
one directory; ``stop`` kills what it started (daemons, and any job step they left) and nothing else.
Nodes are this host (the one-node cluster) or network namespaces (tests/slurm/conftest.py's two
nodes): a node's ``wrap`` is the command prefix that runs a process on it.

    python -m tests.slurm_cluster up DIR     # one node, this host; writes DIR/env (SLURM_CONF=...)
    python -m tests.slurm_cluster down DIR   # stops what `up` started

The settings that work on this kind of machine (docs/architecture.md, "Slurm here"): SlurmUser=root,
proctrack/linuxproc and task/none (no cgroups needed), select/cons_tres. With ``accounting`` the
cluster also has slurmdbd on a MariaDB database of its own (tests/slurm_accounting.py) and gathers
each task's usage with jobacct_gather/linux, so sacct reports elapsed time, CPU time and MaxRSS.
"""

from __future__ import annotations

import json
import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from tests import slurm_accounting

DAEMONS = ("munged", "slurmctld", "slurmd", "mungekey", "sbatch", "squeue", "scontrol", "scancel", "sinfo")
PARTITION = "debug"
CLUSTER = "paralab"
# Accounts the test jobs charge (tests/slurm: team A's default). With accounting storage, slurmctld
# charges a job to an account the user has an association with, else to the user's default (root).
ACCOUNTS = ("physics",)
# In the cluster's env file and the fixture's env: "on", or why the cluster has no accounting storage.
ACCOUNTING_ENV = "PARALAB_TEST_SLURM_ACCOUNTING"


def missing() -> str | None:
    """Why no Slurm cluster can be started here, or None."""
    if sys.platform != "linux":
        return "Slurm's daemons need Linux"
    if os.geteuid() != 0:
        return "the test cluster runs its daemons as root (SlurmUser=root)"
    absent = [name for name in DAEMONS if shutil.which(name) is None]
    if absent:
        return f"Slurm is not installed (no {', '.join(absent)}): apt-get install slurm-wlm munge"
    return None


def short_hostname() -> str:
    return socket.gethostname().split(".")[0]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@dataclass
class SlurmNode:
    name: str
    address: str
    cpus: int = 2
    wrap: list[str] = field(default_factory=list)  # runs a command on this node (e.g. in its namespace)


@dataclass
class SlurmCluster:
    root: Path
    nodes: list[SlurmNode]
    controller: str = "127.0.0.1"  # the address slurmctld is reached on
    slurmd_timeout: int = 300  # seconds before slurmctld declares a silent node DOWN (Slurm's default)
    accounting: bool = False  # slurmdbd and its database, started and stopped with the cluster
    pids: dict[str, int] = field(default_factory=dict)
    dbd_port: int = 0
    # Slurm numbers jobs from 1 in every new cluster: each test cluster starts elsewhere, so a job id in a
    # worker's log or a job's provenance names one cluster's job, never the other's.
    first_job_id: int = 1

    @property
    def conf(self) -> Path:
        return self.root / "slurm.conf"

    @property
    def env(self) -> dict[str, str]:
        """What a client (sbatch, squeue, the Paralab worker) needs to reach this cluster."""
        return {"SLURM_CONF": str(self.conf)}

    def start(self, timeout: float = 60) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        # munged insists its files are not writable by others, up to the root directory.
        self.root.chmod(0o755)
        try:
            self._start_munge()
            if self.accounting:
                self.dbd_port = free_port()
            self._write_conf()
            if self.accounting:
                self._start_slurmdbd(timeout)
            self._spawn("slurmctld", ["slurmctld", "-D", "-f", str(self.conf)])
            for node in self.nodes:
                self.start_slurmd(node)
            self._wait_idle(timeout)
        except BaseException:
            self.stop()
            raise
        (self.root / "pids.json").write_text(json.dumps(self.pids))

    def start_slurmd(self, node: SlurmNode) -> None:
        (self.root / "spool" / node.name).mkdir(parents=True, exist_ok=True)
        self._spawn(f"slurmd-{node.name}", [*node.wrap, "slurmd", "-D", "-N", node.name, "-f", str(self.conf)])

    def _start_munge(self) -> None:
        # munged wants its socket's directory open to all (0755) and its key private to its own user;
        # it refuses to run as root without --force, so it runs as the munge user, like the packaged one.
        munge_dir, key_dir = self.root / "munge", self.root / "munge" / "key"
        key_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        munge_dir.chmod(0o755)
        key = key_dir / "munge.key"
        subprocess.run(["mungekey", "--create", "--keyfile", str(key)], check=True, capture_output=True)
        key.chmod(0o600)
        user = pwd.getpwnam("munge")
        for path in (munge_dir, key_dir, key):
            os.chown(path, user.pw_uid, user.pw_gid)
        command = ["munged", "--foreground", f"--key-file={key}", f"--socket={self.munge_socket}",
                   f"--pid-file={munge_dir / 'munged.pid'}", f"--log-file={munge_dir / 'munged.log'}",
                   f"--seed-file={munge_dir / 'munged.seed'}"]  # fmt: skip
        self._spawn("munged", command, user=user.pw_uid, group=user.pw_gid)
        self._wait(lambda: self.munge_socket.exists(), "munged", self.root / "munged.out", 20)

    def _start_slurmdbd(self, timeout: float) -> None:
        storage = slurm_accounting.create(self.root, self._spawn, free_port)
        conf = self.root / "slurmdbd.conf"  # where slurmdbd looks: beside SLURM_CONF
        conf.touch(mode=0o600)  # slurmdbd refuses a file others can read (it may hold the database password)
        conf.write_text(slurm_accounting.slurmdbd_conf(storage, port=self.dbd_port, munge_socket=self.munge_socket,
                                                       root=self.root))  # fmt: skip
        self._spawn("slurmdbd", ["slurmdbd", "-D"])
        self._wait(lambda: self._sacctmgr("show", "cluster").returncode == 0, "slurmdbd",
                   self.root / "slurmdbd.log", timeout)  # fmt: skip
        # Registered before slurmctld first reports to slurmdbd, as an admin would (sacctmgr add cluster).
        for command in (["add", "cluster", CLUSTER], ["add", "account", *ACCOUNTS, f"cluster={CLUSTER}"],
                        ["add", "user", "root", f"account={','.join(ACCOUNTS)}", f"cluster={CLUSTER}"]):  # fmt: skip
            done = self._sacctmgr(*command)
            if done.returncode != 0:
                raise RuntimeError(f"sacctmgr {' '.join(command)} failed: {done.stderr.strip() or done.stdout}")

    def _sacctmgr(self, *argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["sacctmgr", "--immediate", "--noheader", *argv], capture_output=True, text=True,
                              env=self._env(), timeout=30)  # fmt: skip

    @property
    def munge_socket(self) -> Path:
        return self.root / "munge" / "munge.socket"

    def _write_conf(self) -> None:
        r = self.root
        (r / "state").mkdir(exist_ok=True)
        lines = [
            f"ClusterName={CLUSTER}",
            f"SlurmctldHost={short_hostname()}({self.controller})",
            f"SlurmctldPort={free_port()}",
            f"SlurmdPort={free_port()}",
            "SlurmUser=root",
            "SlurmdUser=root",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={self.munge_socket}",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_CPU",
            *self._accounting_conf(),
            "MpiDefault=none",
            "SchedulerType=sched/backfill",
            "ReturnToService=2",
            f"SlurmdTimeout={self.slurmd_timeout}",
            "InactiveLimit=0",
            "KillWait=5",
            "MinJobAge=300",
            f"FirstJobId={self.first_job_id}",
            f"StateSaveLocation={r / 'state'}",
            f"SlurmdSpoolDir={r / 'spool' / '%n'}",
            f"SlurmctldPidFile={r / 'slurmctld.pid'}",
            f"SlurmdPidFile={r / 'slurmd-%n.pid'}",
            f"SlurmctldLogFile={r / 'slurmctld.log'}",
            f"SlurmdLogFile={r / 'slurmd-%n.log'}",
            "SlurmctldDebug=info",
            "SlurmdDebug=info",
        ]
        lines += [f"NodeName={n.name} NodeAddr={n.address} CPUs={n.cpus} State=UNKNOWN" for n in self.nodes]
        lines.append(f"PartitionName={PARTITION} Nodes=ALL Default=YES MaxTime=INFINITE State=UP")
        self.conf.write_text("\n".join(lines) + "\n")

    def _accounting_conf(self) -> list[str]:
        if not self.accounting:
            return ["JobAcctGatherType=jobacct_gather/none"]
        # linuxproc tracks each task's processes by parentage, so jobacct_gather/linux needs no cgroups;
        # a sample a second catches the peak of jobs that last seconds (Slurm's default is every 30 s).
        # Clients reach slurmdbd through munge's socket named by AccountingStoragePass, not AuthInfo.
        return ["AccountingStorageType=accounting_storage/slurmdbd", "AccountingStorageHost=127.0.0.1",
                f"AccountingStoragePort={self.dbd_port}", f"AccountingStoragePass={self.munge_socket}",
                "JobAcctGatherType=jobacct_gather/linux", "JobAcctGatherFrequency=task=1"]  # fmt: skip

    def _spawn(self, name: str, command: list[str], **kwargs) -> None:
        with open(self.root / f"{name}.out", "a") as out:
            proc = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=self._env(), **kwargs
            )
        self.pids[name] = proc.pid

    def _env(self) -> dict[str, str]:
        return {**os.environ, **self.env}

    def client(self, *argv: str, check: bool = True) -> str:
        return subprocess.run(argv, check=check, capture_output=True, text=True, env=self._env(), timeout=30).stdout

    def _wait(self, ready, what: str, log: Path, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            time.sleep(0.1)
        text = log.read_text(errors="replace")[-3000:] if log.exists() else "(no log)"
        raise RuntimeError(f"{what} did not come up in {timeout:g} s; its log:\n{text}")

    def node_states(self) -> dict[str, str]:
        out = subprocess.run(["sinfo", "-h", "-N", "-o", "%N %T"], capture_output=True, text=True, env=self._env())
        return dict(line.split() for line in out.stdout.splitlines() if line.strip())

    def _wait_idle(self, timeout: float) -> None:
        names = {n.name for n in self.nodes}

        def idle() -> bool:
            states = self.node_states()
            return names <= states.keys() and all(states[n].startswith("idle") for n in names)

        self._wait(idle, "the Slurm nodes", self.root / "slurmctld.log", timeout)

    def stop(self, *, remove: bool = True) -> None:
        """Stop every daemon started here and every job step they left on the nodes; remove the directory."""
        stop_pids(self.pids, str(self.conf))
        self.pids.clear()
        slurm_accounting.drop(self.root)  # slurmdbd has stopped
        if remove:
            shutil.rmtree(self.root, ignore_errors=True)


def one_node(root: Path) -> tuple[SlurmCluster, dict[str, str]]:
    """This host as a one-node cluster, with accounting storage where it can have it; and the environment
    its clients need, with ACCOUNTING_ENV saying whether it has accounting or why not."""
    why_not = slurm_accounting.missing()
    cluster = SlurmCluster(root, [SlurmNode(short_hostname(), "127.0.0.1")], accounting=why_not is None)
    return cluster, {**cluster.env, ACCOUNTING_ENV: "on" if why_not is None else f"off: {why_not}"}


def cluster_dir(name: str) -> Path:
    """A new directory for a cluster, under the system's temporary directory: munged, running as its
    own user, must reach it (pytest's own temporary directories are private to root)."""
    return Path(tempfile.mkdtemp(prefix=f"paralab-{name}-"))


def stop_pids(pids: dict[str, int], conf: str) -> None:
    # slurmstepd processes are not children of slurmd once started: find them by ancestry before slurmd goes.
    victims: list[psutil.Process] = []
    for pid in pids.values():
        try:
            proc = psutil.Process(pid)
            victims += [proc, *proc.children(recursive=True)]
        except psutil.NoSuchProcess:
            pass
    # And a job's own processes, wherever they were re-parented (a slurmstepd that died first, a rank that
    # left its session): every one has the cluster's SLURM_CONF and a SLURM_JOB_ID in its environment.
    for proc in psutil.process_iter(["name", "environ"]):
        try:
            environ = proc.info["environ"] or {}
            if environ.get("SLURM_CONF") != conf:
                continue
            if proc.info["name"] == "slurmstepd" or "SLURM_JOB_ID" in environ:
                victims += [proc, *proc.children(recursive=True)]
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    for proc in victims:
        try:
            proc.send_signal(signal.SIGTERM)
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(victims, timeout=10)
    for proc in alive:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=5)


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("up", "down"):
        print("usage: python -m tests.slurm_cluster up|down DIR", file=sys.stderr)
        return 2
    root = Path(argv[1])
    if argv[0] == "up":
        reason = missing()
        if reason:
            print(reason, file=sys.stderr)
            return 3
        cluster, env = one_node(root)
        cluster.start()
        (root / "env").write_text("".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items()))
        print(f"Slurm is up: {cluster.node_states()}; SLURM_CONF={cluster.conf}; accounting {env[ACCOUNTING_ENV]}")
    else:
        pids = json.loads((root / "pids.json").read_text()) if (root / "pids.json").exists() else {}
        stop_pids(pids, str(root / "slurm.conf"))
        slurm_accounting.drop(root)
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
