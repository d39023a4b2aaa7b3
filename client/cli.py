"""The ``paralab`` command (the console script): ``list`` and ``run`` call the engine in kernels/ in this
process, ``remote …`` goes to a server over HTTP (client/remote.py).

For ``run``, validation, bounds and messages all come from the engine; this module only parses the command
line, draws progress and maps errors to exit codes (2 bad input, 3 cancelled or timed out,
130 Ctrl-C, 143 SIGTERM).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from client.command import (
    EXIT_BAD_INPUT,
    EXIT_CANCELLED,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    CommandFailed,
    Parser,
    add_params,
    parse_params,
)
from client.describe import describe_job, run_document
from client.progress import ProgressBar
from client.remote import add_remote_parser
from kernels.backends.base import kill_process_tree
from kernels.engine import CheckedRequest, RunRequest, RunResult, check_request, run
from kernels.errors import Cancelled, DeadlineExceeded, EngineError
from kernels.params import ParamError
from kernels.registry import BACKENDS, IMPLEMENTATIONS, WORKLOADS, UnknownWorkload
from kernels.workloads.base import NativeUnavailable, Workload


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="paralab", description="Run parallel Python workloads and see how they scale.")
    # Each command sets `handler`; a group of subcommands (`paralab remote …`) adds its parser here.
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)

    listing = commands.add_parser("list", help="workloads, their parameters and where they run")
    listing.add_argument("--json", action="store_true", help="print the workload schemas as JSON")
    listing.set_defaults(handler=command_list)

    running = commands.add_parser("run", help="run one workload and verify its result")
    running.add_argument("workload", help="workload name (see `paralab list`)")
    add_params(running)
    running.add_argument("--backend", default="sequential", help=f"one of {', '.join(BACKENDS)} (default sequential)")
    running.add_argument(
        "--implementation", "--impl", dest="implementation", default="python",
        help=f"one of {', '.join(IMPLEMENTATIONS)} (default python)",
    )  # fmt: skip
    running.add_argument("--workers", "-w", type=int, default=1, help="number of workers (default 1)")
    running.add_argument(
        "--threads", type=int, metavar="T",
        help="hybrid backend: OpenMP threads per MPI rank, dividing --workers (default: ranks fill this host's cores)",
    )  # fmt: skip
    running.add_argument("--timeout", type=float, default=None, metavar="SECONDS", help="kill the run after this long")
    running.add_argument("--redis-url", help="Redis for the subprocesses backend (default $REDIS_URL or local)")
    running.add_argument("--hostfile", help="MPI hostfile spreading ranks over hosts (default $PARALAB_MPI_HOSTFILE)")
    running.add_argument("--json", action="store_true", help="print the whole result as JSON")
    running.add_argument("--save", type=Path, metavar="DIR", help="write the run's artifacts (e.g. a PNG) to DIR")
    running.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    running.set_defaults(handler=command_run)

    add_remote_parser(commands)  # `paralab remote submit|study|jobs`, over a server's HTTP API
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except CommandFailed as exc:
        print(f"paralab: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:  # Ctrl-C outside a run, e.g. while the engine is still importing
        print("paralab: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


# --- paralab list -----------------------------------------------------------------------------


def command_list(args: argparse.Namespace) -> int:
    if args.json:
        print(json.dumps([w.describe() for w in WORKLOADS.values()], indent=2))
        return 0
    for index, workload in enumerate(WORKLOADS.values()):
        if index:
            print()
        print(workload_table(workload))
    return 0


def workload_table(workload: Workload) -> str:
    lines = [
        f"{workload.name} — {workload.title}",
        f"  runs on: {', '.join(workload.backends)} × {', '.join(workload.implementations)}",
    ]
    rows = [("param", "type", "default", "bounds", "")]
    rows += [(p.name, p.kind, format_value(p.default), p.bound_text(), p.help) for p in workload.params]
    widths = [max(len(row[col]) for row in rows) for col in range(4)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append(("  " + "  ".join(cells) + "  " + row[4]).rstrip())
    return "\n".join(lines)


def format_value(value: Any) -> str:
    """A parameter value the way `-p` accepts it back."""
    if isinstance(value, (list, tuple)):
        return ",".join(str(item) for item in value)
    return str(value)


# --- paralab run ------------------------------------------------------------------------------


def command_run(args: argparse.Namespace) -> int:
    request = RunRequest(
        workload=args.workload,
        params=parse_params(args.params),
        backend=args.backend,
        implementation=args.implementation,
        workers=args.workers,
        options={key: value for key, value in (("redis_url", args.redis_url), ("hostfile", args.hostfile)) if value}
        | ({} if args.threads is None else {"threads": args.threads}),
    )
    if args.timeout is not None and not 0 < args.timeout < math.inf:
        raise CommandFailed(
            EXIT_BAD_INPUT, f"error: timeout: must be a positive number of seconds, got {args.timeout:g}"
        )
    try:
        checked = check_request(request)  # the one check: the engine trusts a checked request
    except (ParamError, EngineError, UnknownWorkload) as exc:
        raise CommandFailed(EXIT_BAD_INPUT, f"error: {exc}") from None

    bar = ProgressBar(enabled=not args.quiet)
    bar.update(0, checked.total_units())
    result = run_interruptible(checked, bar, args.timeout)
    bar.close()

    if args.save is not None:
        save_artifacts(result, args.save)
    if args.json:
        print(json.dumps(result.summary(), indent=2, default=str))
    else:
        print(describe_job(run_document(result)))
    return 0


def run_interruptible(checked: CheckedRequest, bar: ProgressBar, timeout: float | None) -> RunResult:
    """Run with Ctrl-C and SIGTERM wired to the engine's cancel event, so the backend kills its processes."""
    cancel = threading.Event()
    stopped_by: list[int] = []

    def on_signal(signum: int, frame: Any) -> None:
        if stopped_by:
            # Second signal: a python thread cannot be stopped, so stop waiting for it.
            kill_process_tree(os.getpid(), include_root=False)
            os._exit(128 + stopped_by[0])
        stopped_by.append(signum)
        cancel.set()
        if checked.request.backend == "threads":
            # os.write, not print: the handler may interrupt a write to sys.stderr.
            os.write(2, b"\nparalab: cancelling; running threads finish their unit (Ctrl-C again to quit now)\n")

    # Pool children forked during the run inherit these handlers, so a terminal's Ctrl-C (sent to the
    # whole process group) leaves them to the parent, which kills them.
    previous = {signum: signal.signal(signum, on_signal) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        return run(checked, on_progress=bar.on_progress, cancel=cancel, timeout=timeout)
    except Cancelled as exc:
        bar.close()
        if stopped_by:
            word = "interrupted" if stopped_by[0] == signal.SIGINT else "terminated"
            raise CommandFailed(128 + stopped_by[0], f"{word}; the run was cancelled") from None
        reason = str(exc) if isinstance(exc, DeadlineExceeded) else "cancelled"
        raise CommandFailed(EXIT_CANCELLED, f"{reason}; the run was stopped") from None
    except (EngineError, NativeUnavailable) as exc:
        bar.close()
        raise CommandFailed(EXIT_FAILED, f"run failed: {exc}") from None
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def save_artifacts(result: RunResult, directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for name, data in result.artifacts.items():
            (directory / name).write_bytes(data)
    except OSError as exc:
        raise CommandFailed(EXIT_FAILED, f"cannot save artifacts to {directory}: {exc}") from None


if __name__ == "__main__":
    sys.exit(main())
