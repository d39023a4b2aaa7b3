"""Accounting storage for the test Slurm cluster: slurmdbd on a MariaDB database of the cluster's own.

The database lives on the machine's MariaDB (127.0.0.1:3306, root without a password: CI's machines
run one) or, where none answers, on a private ``mariadbd`` started in the cluster's directory. It is
created before slurmdbd starts and dropped after it stops; ``accounting.json`` in the cluster's
directory names it, so ``python -m tests.slurm_cluster down DIR`` drops it too.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

MACHINE_MARIADB = ("127.0.0.1", 3306)
SLURMDBD_COMMANDS = ("slurmdbd", "sacctmgr", "sacct")
RECORD = "accounting.json"

Spawn = Callable[..., None]  # SlurmCluster._spawn(name, command, **popen_kwargs)


@dataclass(frozen=True)
class Storage:
    """Where slurmdbd keeps its tables: a MariaDB server (host, port, user root, no password) and a database."""

    host: str
    port: int
    database: str

    def sql(self, statement: str, *, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        command = ["mysql", "--no-defaults", "--protocol=tcp", "-h", self.host, "-P", str(self.port), "-u", "root",
                   "--batch", "--skip-column-names", "-e", statement]  # fmt: skip
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def missing(address: tuple[str, int] = MACHINE_MARIADB) -> str | None:
    """Why the test cluster cannot have accounting here, or None."""
    absent = [name for name in SLURMDBD_COMMANDS if shutil.which(name) is None]
    if absent:
        return f"slurmdbd is not installed (no {', '.join(absent)}): apt-get install slurmdbd"
    if shutil.which("mysql") is None:
        return "no MariaDB client (mysql): apt-get install mariadb-client"
    if not answers(*address) and not _can_start_mariadb():
        return f"no MariaDB answers on {address[0]}:{address[1]} and none is installed to start (mariadb-server)"
    return None


def answers(host: str, port: int) -> bool:
    try:
        return Storage(host, port, "").sql("SELECT 1", timeout=5).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def _can_start_mariadb() -> bool:
    return shutil.which("mariadbd") is not None and shutil.which("mariadb-install-db") is not None


def create(
    root: Path, spawn: Spawn, free_port: Callable[[], int], address: tuple[str, int] = MACHINE_MARIADB
) -> Storage:
    """A new, empty database for slurmdbd: on the machine's MariaDB, or on a private server started with ``spawn``."""
    if not answers(*address):
        address = _start_private_mariadb(root, spawn, free_port())
    storage = Storage(*address, database=f"paralab_slurm_{uuid.uuid4().hex[:12]}")
    (root / RECORD).write_text(json.dumps(asdict(storage)))  # before it exists: a failure below still drops it
    done = storage.sql(f"CREATE DATABASE `{storage.database}`")
    if done.returncode != 0:
        raise RuntimeError(f"MariaDB refused to create {storage.database}: {done.stderr.strip()}")
    return storage


def drop(root: Path) -> None:
    """Drop the database ``create`` made for this cluster (slurmdbd must have stopped), if any."""
    record = root / RECORD
    if not record.exists():
        return
    storage = Storage(**json.loads(record.read_text()))
    if answers(storage.host, storage.port):  # a private server has gone with the cluster's processes
        done = storage.sql(f"DROP DATABASE IF EXISTS `{storage.database}`")
        if done.returncode != 0:  # said, not raised: the rest of the cleanup must still happen
            print(f"could not drop the Slurm accounting database {storage.database}: {done.stderr.strip()}",
                  file=sys.stderr)  # fmt: skip
    record.unlink()


def _start_private_mariadb(root: Path, spawn: Spawn, port: int) -> tuple[str, int]:
    """A MariaDB server of the cluster's own, its data under ``root`` (gone with the directory), root without a password."""
    if not _can_start_mariadb():
        raise RuntimeError(f"no MariaDB answers on {MACHINE_MARIADB[0]}:{MACHINE_MARIADB[1]} and none is installed")
    data = root / "mariadb"
    init = subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={data}", "--user=root",
                           "--auth-root-authentication-method=normal", "--skip-test-db"],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    if init.returncode != 0:
        raise RuntimeError(f"mariadb-install-db failed: {(init.stderr or init.stdout).strip()[-2000:]}")
    spawn("mariadbd", ["mariadbd", "--no-defaults", f"--datadir={data}", "--user=root", "--bind-address=127.0.0.1",
                       f"--port={port}", f"--socket={data / 'mariadb.sock'}", f"--pid-file={data / 'mariadbd.pid'}",
                       "--skip-log-bin"])  # fmt: skip
    deadline = time.monotonic() + 60
    while not answers("127.0.0.1", port):
        if time.monotonic() > deadline:
            log = (root / "mariadbd.out").read_text(errors="replace")[-2000:]  # its stderr: SlurmCluster._spawn
            raise RuntimeError(f"the private mariadbd did not answer in 60 s; its log:\n{log}")
        time.sleep(0.2)
    return "127.0.0.1", port


def slurmdbd_conf(storage: Storage, *, port: int, munge_socket: Path, root: Path) -> str:
    return "\n".join([
        "AuthType=auth/munge",
        f"AuthInfo=socket={munge_socket}",
        "DbdHost=localhost",
        "DbdAddr=127.0.0.1",
        f"DbdPort={port}",
        "SlurmUser=root",
        f"PidFile={root / 'slurmdbd.pid'}",
        f"LogFile={root / 'slurmdbd.log'}",
        "DebugLevel=info",
        "StorageType=accounting_storage/mysql",
        f"StorageHost={storage.host}",
        f"StoragePort={storage.port}",
        "StorageUser=root",
        f"StorageLoc={storage.database}",
    ]) + "\n"  # fmt: skip
