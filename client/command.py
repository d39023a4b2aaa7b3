"""What ``paralab run`` and ``paralab remote`` share: exit codes, the one-line failure, the argument parser
and ``-p KEY=VALUE``."""

from __future__ import annotations

import argparse
from typing import NoReturn

from kernels.params import parse_assignments

EXIT_FAILED = 1  # the run, job or study failed (or its result failed verification)
EXIT_BAD_INPUT = 2
EXIT_CANCELLED = 3
EXIT_NOT_ALLOWED = 4  # the server refused the token or the action
EXIT_UNAVAILABLE = 5  # the server cannot be reached or cannot take the request now
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C


class CommandFailed(Exception):
    """Ends the command with ``paralab: MESSAGE`` on stderr and ``code``."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line (exit 2), like the engine's own errors."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def add_params(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-p", "--param", dest="params", action="append", default=[], metavar="KEY=VALUE",
        help="a workload parameter, repeatable; lists are comma-separated: -p ns=38,37,36",
    )  # fmt: skip


def parse_params(items: list[str]) -> dict[str, str]:
    try:
        return parse_assignments(items)
    except ValueError as exc:
        raise CommandFailed(EXIT_BAD_INPUT, f"error: {exc}") from None
