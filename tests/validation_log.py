"""A log of every check of a workload's parameters (``Workload.validate``), in the test's process and in
each Python process started from it (an isolated engine, its MPI ranks), for the tests that prove a
request is checked once, at the edge.

Children are reached through ``sitecustomize``, which Python imports at start-up from PYTHONPATH: every
process of a run inherits the environment (Hydra passes it on to MPI ranks). Each one notes that it
started with the log on, and an engine process each run it starts, so a test can tell "no check there"
from "not watched there".
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from kernels.workloads.base import Workload

LOG_ENV = "PARALAB_TEST_VALIDATIONS"
ROOT = Path(__file__).resolve().parent.parent


def program() -> str:
    """This process as started: the module of ``python -m``, else the script's name ("-c" for code)."""
    args = sys.orig_argv[1:]
    if "-m" in args and args.index("-m") + 1 < len(args):
        return args[args.index("-m") + 1]
    return Path(sys.argv[0]).name


def note(line: str) -> None:
    # One short write in append mode: lines from processes writing at once do not interleave.
    with open(os.environ[LOG_ENV], "a", encoding="utf-8") as log:
        log.write(f"{line} {program()} {os.getpid()}\n")


def install() -> None:
    """Note each call of Workload.validate (a workload's own ``validate`` calls it through super())."""
    original = Workload.validate

    def validate(self: Workload, raw: dict[str, Any] | None) -> dict[str, Any]:
        note(f"validate {self.name}")
        return original(self, raw)

    Workload.validate = validate  # type: ignore[method-assign]


def watch_child() -> None:
    """What a child process does at start-up (its sitecustomize): log its checks, its start and its engine runs."""
    import kernels.engine

    install()
    note("started")
    original = kernels.engine.run

    def run(*args: Any, **kwargs: Any) -> Any:
        note("engine")
        return original(*args, **kwargs)

    kernels.engine.run = run  # before kernels.isolated, which imports it, is run


class ValidationLog:
    def __init__(self, path: Path):
        self.path = path

    def lines(self, kind: str) -> list[str]:
        """The lines of one kind, without it: "fib kernels.isolated 123" (validate), "kernels.mpi.units 124"
        (started, engine)."""
        return [line.split(" ", 1)[1] for line in self.path.read_text().splitlines() if line.split(" ", 1)[0] == kind]

    def validations(self) -> list[str]:
        return self.lines("validate")

    def programs(self, kind: str) -> list[str]:
        """The programs of the lines of one kind, one entry per line: "started" has one per process."""
        return [line.rsplit(" ", 1)[0] for line in self.lines(kind)]


def log_validations(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> ValidationLog:
    """Log every check from now to the end of the test, here and in every Python process started meanwhile."""
    path = tmp_path / "validations.log"
    path.touch()
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "from tests.validation_log import watch_child\n\nwatch_child()\n", encoding="utf-8"
    )
    monkeypatch.setenv(LOG_ENV, str(path))
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(site), str(ROOT), os.environ.get("PYTHONPATH")]))
    )
    monkeypatch.setattr(Workload, "validate", Workload.validate)  # so the original is put back after the test
    install()
    return ValidationLog(path)
