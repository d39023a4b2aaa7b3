"""A real Celery worker on queues of its own prefix, so what it serves (and lacks) is known to the test."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import connection

ROOT = Path(__file__).resolve().parents[3]
# The suite's queue prefix plus "-w": the suite's own worker (which serves every queue) is not one of ours.
PREFIX = os.environ["PARALAB_QUEUE"] + "-w"
SERVED = ("cpu", "mpi")  # and not native or study, so the submit form has something to warn about


@pytest.fixture(autouse=True)
def fresh_status(settings):
    """This module's queue prefix, and no worker status cached by an earlier test."""
    settings.CELERY_TASK_DEFAULT_QUEUE = PREFIX
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(scope="module")
def cpu_mpi_worker(django_db_setup, django_db_blocker):
    """`celery worker -Q <prefix>.cpu,<prefix>.mpi` on the test database; yields its node name."""
    log_path = ROOT / "build" / "workers-cpu-mpi.log"
    log_path.parent.mkdir(exist_ok=True)
    node = f"cpu-mpi-{os.getpid()}@%h"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "PARALAB_TEST_DB_NAME": str(connection.settings_dict["NAME"]),
        "PARALAB_QUEUE": PREFIX,
    }
    queues = ",".join(f"{PREFIX}.{capability}" for capability in SERVED)
    command = [sys.executable, "-m", "celery", "-A", "tasks", "worker", "-P", "threads", "--concurrency", "1",
               "-Q", queues, "--hostname", node, "--loglevel", "INFO"]  # fmt: skip
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 60
        while "ready." not in log_path.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker did not start:\n{log_path.read_text(errors='replace')[-3000:]}")
            time.sleep(0.1)
        yield node.replace("%h", os.uname().nodename)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
