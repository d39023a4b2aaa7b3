"""``paralab remote …``: submit jobs and scaling studies to a Paralab server and follow them over its HTTP API.

Configured from the environment: ``PARALAB_URL`` (the server, e.g. http://127.0.0.1:8000) and
``PARALAB_TOKEN`` (an API token from the profile page or ``manage.py create_token USER``). Standard
library only (urllib), so it runs wherever ``paralab run`` does; the server checks every value and
its answer is shown as one line naming the field.

Exit codes: 0 done, 1 the job or study failed (or its result failed verification), 2 bad input,
3 cancelled, 4 the token was refused or the action is not allowed, 5 the server cannot be reached
or cannot take the request now, 130 Ctrl-C (the job keeps running on the server).
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import kernels
from client.command import (
    EXIT_BAD_INPUT,
    EXIT_CANCELLED,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_NOT_ALLOWED,
    EXIT_UNAVAILABLE,
    CommandFailed,
    add_params,
    parse_params,
)
from client.describe import describe_job, number
from client.progress import ProgressBar
from kernels.calibration import changes

FINAL = ("succeeded", "failed", "cancelled")
JOB_POLL = 0.5  # seconds between polls of a job; the server saves progress four times a second
STUDY_POLL = 1.0
PATIENCE = 30.0  # seconds of failed polls before giving up on following


class RemoteError(CommandFailed):
    """The server refused, or cannot be reached: ``paralab: error: MESSAGE`` and ``code``."""

    def __init__(self, code: int, message: str):
        super().__init__(code, f"error: {message}")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # urllib would turn a redirected POST into a GET and drop its body; say where the server points instead.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def describe_errors(body: Any, prefix: str = "") -> list[str]:
    """DRF's error body as ``field: reason`` items: ``{"params": {"ns": ["must …"]}}`` → ``["params.ns: must …"]``."""
    if isinstance(body, dict):
        items = []
        for key, value in body.items():
            name = f"{prefix}{key}"
            if key in ("detail", "non_field_errors"):
                items += describe_errors(value, prefix)
            else:
                items += describe_errors(value, f"{name}.") if isinstance(value, dict) else [
                    f"{name}: {reason}" for reason in describe_errors(value)
                ]  # fmt: skip
        return items
    if isinstance(body, list):
        return [item for value in body for item in describe_errors(value, prefix)]
    return [f"{prefix.rstrip('.')}: {body}" if prefix else str(body)]


@dataclass
class Server:
    url: str
    token: str
    timeout: float = 30.0

    @classmethod
    def from_environment(cls, url: str | None = None) -> Server:
        url = (url or os.environ.get("PARALAB_URL", "")).strip().rstrip("/")
        token = os.environ.get("PARALAB_TOKEN", "").strip()
        if not url:
            raise RemoteError(EXIT_BAD_INPUT, "PARALAB_URL is not set; e.g. export PARALAB_URL=http://127.0.0.1:8000")
        if not url.startswith(("http://", "https://")):
            raise RemoteError(EXIT_BAD_INPUT, f"PARALAB_URL must start with http:// or https://, got {url!r}")
        if not token:
            raise RemoteError(
                EXIT_BAD_INPUT,
                "PARALAB_TOKEN is not set; create a token on your profile page or with `manage.py create_token USER`",
            )
        return cls(url, token)

    def page(self, path: str) -> str:
        return f"{self.url}{path}"

    def request(self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None) -> Any:
        url = self.url + path
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v not in (None, "")}, doseq=True)
        request = urllib.request.Request(
            url,
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={
                "Authorization": f"Bearer {self.token}",
                "Accept": "application/json",
                "Content-Type": "application/json",
                "User-Agent": f"paralab-remote/{kernels.__version__}",
            },
        )
        try:
            with _OPENER.open(request, timeout=self.timeout) as response:
                payload = response.read()
        except urllib.error.HTTPError as exc:
            raise self._refusal(exc) from None
        except urllib.error.URLError as exc:
            raise RemoteError(
                EXIT_UNAVAILABLE, f"cannot reach the Paralab server at {self.url}: {exc.reason}"
            ) from None
        except (OSError, http.client.HTTPException) as exc:
            raise RemoteError(
                EXIT_UNAVAILABLE, f"lost the connection to {self.url}: {exc or type(exc).__name__}"
            ) from None
        try:
            return json.loads(payload)
        except ValueError:
            raise RemoteError(
                EXIT_UNAVAILABLE, f"{url} did not answer with JSON: is PARALAB_URL the Paralab server's address?"
            ) from None

    def _refusal(self, exc: urllib.error.HTTPError) -> RemoteError:
        raw = exc.read()
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = None
        reasons = "; ".join(describe_errors(body)) if body is not None else ""
        code = exc.code
        if 300 <= code < 400:
            where = exc.headers.get("Location", "?")
            return RemoteError(EXIT_UNAVAILABLE, f"the server redirects to {where}; set PARALAB_URL to that address")
        if code == 400:
            return RemoteError(EXIT_BAD_INPUT, f"the server refused the request: {reasons or 'bad request'}")
        if code == 401:
            return RemoteError(
                EXIT_NOT_ALLOWED,
                f"the server at {self.url} refused PARALAB_TOKEN ({reasons or 'HTTP 401'}); "
                "create a new token on your profile page or with `manage.py create_token USER`",
            )
        if code == 403:
            return RemoteError(EXIT_NOT_ALLOWED, f"not allowed: {reasons or 'HTTP 403'}")
        if code == 404:
            return RemoteError(EXIT_BAD_INPUT, f"not found (or not in your teams): {exc.url}")
        if code == 429:
            return RemoteError(EXIT_UNAVAILABLE, f"the server is busy: {reasons or 'HTTP 429'}; try again later")
        detail = f": {reasons}" if reasons else ""
        return RemoteError(EXIT_UNAVAILABLE, f"the server answered HTTP {code}{detail}")


def _poll(fetch: Callable[[], Any]) -> Any:
    """One poll while following: a dropped connection is retried for PATIENCE seconds, anything else ends it."""
    deadline = time.monotonic() + PATIENCE
    while True:
        try:
            return fetch()
        except RemoteError as exc:
            if exc.code != EXIT_UNAVAILABLE or time.monotonic() > deadline:
                raise
            time.sleep(1.0)


# --- paralab remote submit --------------------------------------------------------------------


def command_submit(server: Server, args: argparse.Namespace) -> int:
    body: dict[str, Any] = {
        "workload": args.workload,
        "params": parse_params(args.params),
        "backend": args.backend,
        "implementation": args.implementation,
        "workers": args.workers,
    }
    if args.threads is not None:
        body["threads"] = args.threads
    if args.team:
        body["team"] = args.team
    job = server.request("POST", "/api/v1/jobs/", body)
    page = server.page(f"/jobs/{job['id']}/")
    print(f"job #{job['id']} queued: {job['workload']} on {job['backend']} × {job['implementation']} × "
          f"{job['workers']}  {page}", file=sys.stderr if args.json else sys.stdout)  # fmt: skip
    if not args.wait:
        if args.json:
            print(json.dumps(job, indent=2))
        return 0
    path = f"/api/v1/jobs/{job['id']}/"
    bar = ProgressBar("units", enabled=not args.quiet)
    try:
        while True:
            job = _poll(lambda: server.request("GET", path))
            progress = job.get("progress") or {}
            note = "waiting for a worker" if job["status"] == "queued" else job["status"]
            # No total yet (the job waits for a worker) draws -/-.
            bar.update(int(progress.get("done") or 0), int(progress.get("total") or 0) or None, note)
            if job["status"] in FINAL:
                break
            time.sleep(JOB_POLL)
    except KeyboardInterrupt:
        bar.close()
        print(f"paralab: stopped following job #{job['id']}; it keeps running: {page}", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        bar.close()
    if args.json:
        print(json.dumps(job, indent=2))
    else:
        print(describe_job(job))
    return job_exit_code(job)


def job_exit_code(job: dict[str, Any]) -> int:
    if job["status"] == "cancelled":
        return EXIT_CANCELLED
    if job["status"] == "failed" or job.get("verified") is False:
        return EXIT_FAILED
    return 0


# --- paralab remote study ---------------------------------------------------------------------


def command_study(server: Server, args: argparse.Namespace) -> int:
    body: dict[str, Any] = {}
    if args.preset:
        if args.workload or args.params or args.backends:
            raise RemoteError(EXIT_BAD_INPUT, "--preset sets the workload, its params and backends; give none of them")
        if args.threads is not None:
            # The server refuses it too; said here as the other options are, before anything is sent.
            raise RemoteError(EXIT_BAD_INPUT, "--threads is for hybrid runs, and a preset sets its own backends; "
                                              "leave --threads out")  # fmt: skip
        body["preset"] = args.preset
    else:
        if not args.workload or not args.backends:
            raise RemoteError(EXIT_BAD_INPUT, "give a WORKLOAD and --backends (or --preset NAME)")
        body.update(workload=args.workload, params=parse_params(args.params), backends=args.backends,
                    implementations=args.implementations)  # fmt: skip
        if args.title:
            body["title"] = args.title
    if args.workers:
        body["workers"] = args.workers
    if args.threads is not None:
        body["threads"] = args.threads
    if args.repetitions is not None:
        body["repetitions"] = args.repetitions
    if args.min_baseline is not None:
        body["min_baseline"] = args.min_baseline
    if args.team:
        body["team"] = args.team
    study = server.request("POST", "/api/v1/studies/", body)
    page = server.page(f"/studies/{study['id']}/")
    out = sys.stderr if args.json else sys.stdout
    if study["status"] == "calibrating":
        print(f"study #{study['id']} calibrating: {study['title']}; its jobs are queued once the sequential baseline "
              f"lasts at least {study['min_baseline']:g} s  {page}", file=out)  # fmt: skip
    else:
        print(f"study #{study['id']} queued: {study['title']}; {study['progress']['total']} jobs, one at a time  "
              f"{page}", file=out)  # fmt: skip
    if args.wait:
        path = f"/api/v1/studies/{study['id']}/"
        bar = ProgressBar("jobs", enabled=not args.quiet)
        try:
            while study["status"] == "calibrating" or study["progress"]["finished"] < study["progress"]["total"]:
                time.sleep(STUDY_POLL)
                study = _poll(lambda: server.request("GET", path))
                current = study.get("current")
                note = (
                    f"now {current['backend']} × {current['implementation']} × {current['workers']} "
                    f"(repetition {current['repetition']})"
                    if current
                    else "calibrating the baseline"
                    if study["status"] == "calibrating"
                    else study["status"]
                )
                bar.update(study["progress"]["finished"], study["progress"]["total"], note)
        except KeyboardInterrupt:
            bar.close()
            print(f"paralab: stopped following study #{study['id']}; it keeps running: {page}", file=sys.stderr)
            return EXIT_INTERRUPTED
        finally:
            bar.close()
    if args.json:
        print(json.dumps(study, indent=2))
    elif args.wait:
        for line in calibration_lines(study):
            print(line)
        print(scaling_table(study))
    if not args.wait:
        return 0
    return {"succeeded": 0, "cancelled": EXIT_CANCELLED}.get(study["status"], EXIT_FAILED)


def calibration_lines(study: dict[str, Any]) -> list[str]:
    """What calibrating the study's baseline did, per implementation: from → to, the measured baseline."""
    calibration = study.get("calibration") or {}
    if not calibration:
        return []
    lines = []
    for implementation, found in (calibration.get("implementations") or {}).items():
        before, after = changes(found.get("from") or {}, found.get("to") or {})
        scaled = f"{before} → {after}" if after else "kept as given"
        lines.append(
            f"calibrated {implementation}: {scaled}; baseline {number(found.get('baseline'), 3)} s "
            f"(at least {study.get('min_baseline'):g} s asked)" + (f": {found['short']}" if found.get("short") else "")
        )
    if calibration.get("error"):
        lines.append(f"calibration {calibration.get('state')}: {calibration['error']}")
    return lines


def scaling_table(study: dict[str, Any]) -> str:
    """The study page's table as text: median time and speedup with their 95% intervals, efficiency, Karp–Flatt, Amdahl fit."""
    progress = study["progress"]
    lines = [
        f"study #{study['id']} {study['status']}: {progress['succeeded']} of {progress['total']} jobs succeeded"
        + (f", {progress['failed']} failed" if progress["failed"] else "")
        + (f", {progress['cancelled']} cancelled" if progress["cancelled"] else "")
    ]
    rows = [("backend × implementation", "workers", "runs", "time s, median (95% CI)", "speedup (95% CI)",
             "efficiency", "Karp–Flatt")]  # fmt: skip
    notes = []
    for series in study.get("series", []):
        for index, p in enumerate(series["points"]):
            rows.append(
                (
                    series["label"] if index == 0 else "",
                    str(p["workers"]),
                    str(p["runs"]),
                    f"{p['median']:.3f} ({p['low']:.3f}–{p['high']:.3f})",
                    f"{number(p['speedup'])}× ({number(p['speedup_low'])}–{number(p['speedup_high'])})"
                    + ("" if p["speedup_clear"] else " unclear"),
                    number(p["efficiency"]),
                    number(p["karp_flatt"], 3),
                )
            )
            if p.get("speedup_unclear", "").startswith("every run"):  # disturbed: not the interval's doing
                notes.append(f"{series['label']} at {p['workers']}: unclear, {p['speedup_unclear']}")
        fit = series.get("amdahl")
        if fit:
            limit = f", levels off at {fit['speedup_limit']:.2f}×" if fit.get("speedup_limit") else ""
            notes.append(
                f"{series['label']}: Amdahl serial fraction f = {fit['serial_fraction']:.3f}, T1 = {fit['t1']:.3f} s"
                f", residual {fit['relative_error']:.1%} of T1{limit}"
            )
        elif not series["is_baseline"]:
            notes.append(f"{series['label']}: no Amdahl fit (it needs at least 3 worker counts)")
    if len(rows) == 1:
        return lines[0] + "\nno job finished, so there is no table"
    widths = [max(len(row[col]) for row in rows) for col in range(len(rows[0]))]
    for row in rows:
        cells = [
            cell.ljust(w) if col == 0 else cell.rjust(w) for col, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines + notes + ["speedup is against the sequential run of the same implementation"])


# --- paralab remote jobs ----------------------------------------------------------------------


def command_jobs(server: Server, args: argparse.Namespace) -> int:
    query = {"page_size": args.limit, "status": args.status, "workload": args.workload, "backend": args.backend,
             "team": args.team}  # fmt: skip
    page = server.request("GET", "/api/v1/jobs/", query=query)
    jobs = page.get("results", [])
    if args.json:
        print(json.dumps(jobs, indent=2))
        return 0
    if not jobs:
        print("no jobs match")
        return 0
    rows = [("job", "status", "verified", "workload", "backend × implementation × workers", "wall s", "by", "queued")]
    for job in jobs:
        verdict = {True: "yes", False: "NOT", None: "—"}[job.get("verified")]
        rows.append(
            (
                f"#{job['id']}",
                job["status"],
                verdict,
                job["workload"],
                f"{job['backend']} × {job['implementation']} × {job['workers']}",
                number(job.get("wall_time"), 3),
                job.get("submitted_by") or "",
                (job.get("queued_at") or "")[:19].replace("T", " "),
            )
        )
    widths = [max(len(row[col]) for row in rows) for col in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    if page.get("count", 0) > len(jobs):
        print(f"({len(jobs)} of {page['count']}; --limit shows more)")
    return 0


# --- the command line -------------------------------------------------------------------------


def _csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _seconds_arg(text: str) -> float:
    # A finite number here (JSON has no NaN or infinity); its bounds are the server's to say.
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds, got {text!r}")
    return value


def add_remote_parser(commands: Any) -> None:
    """Register ``paralab remote`` and its subcommands on the ``paralab`` subparsers (client/cli.py)."""
    remote = commands.add_parser(
        "remote",
        help="submit jobs and studies to a Paralab server and follow them (PARALAB_URL, PARALAB_TOKEN)",
        description="Work with a Paralab server over its HTTP API. Set PARALAB_URL and PARALAB_TOKEN.",
    )
    remote.add_argument("--url", help="the server (default $PARALAB_URL)")
    sub = remote.add_subparsers(dest="remote_command", required=True, metavar="SUBCOMMAND", parser_class=type(remote))

    submit = sub.add_parser("submit", help="submit a job; --wait follows it with a progress bar")
    submit.add_argument("workload", help="workload name (see `paralab list`)")
    add_params(submit)
    submit.add_argument("--backend", default="sequential", help="how the work is distributed (default sequential)")
    submit.add_argument("--implementation", "--impl", dest="implementation", default="python",
                        help="python or native (default python)")  # fmt: skip
    submit.add_argument("--workers", "-w", type=int, default=1, help="number of workers (default 1)")
    submit.add_argument(
        "--threads", type=int, metavar="T",
        help="hybrid backend: OpenMP threads per MPI rank, dividing --workers "
        "(default: ranks fill the cores of the host that runs them)",
    )  # fmt: skip
    _add_common(submit)
    submit.set_defaults(handler=run_remote, remote_handler=command_submit)

    study = sub.add_parser("study", help="start a scaling study (or a preset); --wait prints its speedup table")
    study.add_argument("workload", nargs="?", help="workload name (omit with --preset)")
    add_params(study)
    study.add_argument("--preset", help="a ready-made study, e.g. seed-fib")
    study.add_argument("--backends", type=_csv, help="comma-separated, e.g. threads,processes; sequential is added")
    study.add_argument("--implementations", "--impl", dest="implementations", type=_csv, default=["python"],
                       help="comma-separated (default python)")  # fmt: skip
    study.add_argument(
        "--workers", "-w", type=_csv, help="worker counts, comma-separated (default 1, 2, 4, … up to the cores)"
    )
    study.add_argument(
        "--threads", type=int, metavar="T",
        help="OpenMP threads per MPI rank of every hybrid run, dividing each worker count "
        "(default: each run's ranks fill the cores of the host that runs them)",
    )  # fmt: skip
    study.add_argument("--repetitions", "-r", type=int, help="runs of each configuration (default 3)")
    study.add_argument(
        "--min-baseline", type=_seconds_arg, metavar="SECONDS",
        help="scale the workload's size (per implementation, within its bounds) until its sequential baseline "
        "lasts at least this long, before the jobs are made",
    )  # fmt: skip
    study.add_argument("--title", help="a title for the study page")
    _add_common(study)
    study.set_defaults(handler=run_remote, remote_handler=command_study)

    jobs = sub.add_parser("jobs", help="list your teams' recent jobs")
    jobs.add_argument("--status", help="queued, running, succeeded, failed or cancelled")
    jobs.add_argument("--workload")
    jobs.add_argument("--backend")
    jobs.add_argument("--team", help="team slug")
    jobs.add_argument("--limit", type=int, default=20, help="how many (default 20, at most 100)")
    jobs.add_argument("--json", action="store_true", help="print the jobs as JSON")
    jobs.set_defaults(handler=run_remote, remote_handler=command_jobs)


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--team", help="team slug (needed if you may submit in several teams)")
    parser.add_argument("--wait", action="store_true", help="follow until it ends; the exit code says how it ended")
    parser.add_argument("--json", action="store_true", help="print the server's JSON")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def run_remote(args: argparse.Namespace) -> int:
    """The handler ``paralab`` calls; its main() turns a CommandFailed (RemoteError is one) into one line and a code."""
    return int(args.remote_handler(Server.from_environment(args.url), args))
