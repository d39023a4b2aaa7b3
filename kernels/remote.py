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
from kernels.params import parse_assignments

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_CANCELLED = 3
EXIT_NOT_ALLOWED = 4
EXIT_UNAVAILABLE = 5
EXIT_INTERRUPTED = 130

FINAL = ("succeeded", "failed", "cancelled")
JOB_POLL = 0.5  # seconds between polls of a job; the server saves progress four times a second
STUDY_POLL = 1.0
PATIENCE = 30.0  # seconds of failed polls before giving up on following
BAR_WIDTH = 30


class RemoteError(Exception):
    """Ends the command with one line on stderr and ``code``."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


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


class Bar:
    """``[#####-----] 3/6 units  running  1.2 s`` on stderr, redrawn in place."""

    def __init__(self, noun: str, enabled: bool = True):
        self.noun, self.enabled = noun, enabled
        self.started = time.monotonic()
        self._open = False

    def update(self, done: int, total: int, note: str = "") -> None:
        if not self.enabled:
            return
        filled = BAR_WIDTH * done // total if total else 0
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        counts = f"{done}/{total} {self.noun}" if total else f"-/- {self.noun}"
        line = f"\r[{bar}] {counts}  {note}  {time.monotonic() - self.started:.1f} s"
        sys.stderr.write(line.ljust(100))
        sys.stderr.flush()
        self._open = True

    def close(self) -> None:
        if self._open:
            sys.stderr.write("\n")
            sys.stderr.flush()
            self._open = False


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


def parse_params(items: list[str]) -> dict[str, str]:
    try:
        return parse_assignments(items)
    except ValueError as exc:
        raise RemoteError(EXIT_BAD_INPUT, str(exc)) from None


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _number(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


# --- paralab remote submit --------------------------------------------------------------------


def command_submit(server: Server, args: argparse.Namespace) -> int:
    body: dict[str, Any] = {
        "workload": args.workload,
        "params": parse_params(args.params),
        "backend": args.backend,
        "implementation": args.implementation,
        "workers": args.workers,
    }
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
    bar = Bar("units", enabled=not args.quiet)
    try:
        while True:
            job = _poll(lambda: server.request("GET", path))
            progress = job.get("progress") or {}
            note = "waiting for a worker" if job["status"] == "queued" else job["status"]
            bar.update(int(progress.get("done") or 0), int(progress.get("total") or 0), note)
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


def describe_job(job: dict[str, Any]) -> str:
    if job["status"] != "succeeded":
        return f"job #{job['id']} {job['status']}: {job.get('error') or 'no error text'}"
    verdict = {True: "verified", False: "NOT verified", None: "unchecked"}[job.get("verified")]
    workers = job["workers"]
    return "\n".join(
        [
            f"result: {json.dumps(job.get('result'))}",
            f"verification: {verdict} ({job.get('verification') or 'no detail'})",
            f"wall time: {_seconds(job.get('wall_time'))} s ({job['backend']} × {job['implementation']}, "
            f"{workers} worker{'s' if workers != 1 else ''}) on {job.get('worker_host') or '?'}",
        ]
    )


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
    if args.repetitions is not None:
        body["repetitions"] = args.repetitions
    if args.team:
        body["team"] = args.team
    study = server.request("POST", "/api/v1/studies/", body)
    page = server.page(f"/studies/{study['id']}/")
    out = sys.stderr if args.json else sys.stdout
    print(f"study #{study['id']} queued: {study['title']}; {study['progress']['total']} jobs, one at a time  {page}",
          file=out)  # fmt: skip
    if args.wait:
        path = f"/api/v1/studies/{study['id']}/"
        bar = Bar("jobs", enabled=not args.quiet)
        try:
            while study["progress"]["finished"] < study["progress"]["total"]:
                time.sleep(STUDY_POLL)
                study = _poll(lambda: server.request("GET", path))
                current = study.get("current")
                note = (
                    f"now {current['backend']} × {current['implementation']} × {current['workers']} "
                    f"(repetition {current['repetition']})"
                    if current
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
        print(scaling_table(study))
    if not args.wait:
        return 0
    return {"succeeded": 0, "cancelled": EXIT_CANCELLED}.get(study["status"], EXIT_FAILED)


def scaling_table(study: dict[str, Any]) -> str:
    """The study page's table as text: median (min–max) time, speedup, efficiency, Karp–Flatt, Amdahl fit."""
    progress = study["progress"]
    lines = [
        f"study #{study['id']} {study['status']}: {progress['succeeded']} of {progress['total']} jobs succeeded"
        + (f", {progress['failed']} failed" if progress["failed"] else "")
        + (f", {progress['cancelled']} cancelled" if progress["cancelled"] else "")
    ]
    rows = [("backend × implementation", "workers", "runs", "time s, median (min–max)", "speedup (min–max)",
             "efficiency", "Karp–Flatt")]  # fmt: skip
    notes = []
    for series in study.get("series", []):
        for index, p in enumerate(series["points"]):
            rows.append(
                (
                    series["label"] if index == 0 else "",
                    str(p["workers"]),
                    str(p["runs"]),
                    f"{p['median']:.3f} ({p['min']:.3f}–{p['max']:.3f})",
                    f"{_number(p['speedup'])}× ({_number(p['speedup_min'])}–{_number(p['speedup_max'])})",
                    _number(p["efficiency"]),
                    _number(p["karp_flatt"], 3),
                )
            )
        fit = series.get("amdahl")
        if fit:
            notes.append(
                f"{series['label']}: Amdahl serial fraction f = {fit['serial_fraction']:.3f}, T1 = {fit['t1']:.3f} s"
            )
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
                _seconds(job.get("wall_time")),
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


def add_remote_parser(commands: Any) -> None:
    """Register ``paralab remote`` and its subcommands on the ``paralab`` subparsers (kernels/cli.py)."""
    remote = commands.add_parser(
        "remote",
        help="submit jobs and studies to a Paralab server and follow them (PARALAB_URL, PARALAB_TOKEN)",
        description="Work with a Paralab server over its HTTP API. Set PARALAB_URL and PARALAB_TOKEN.",
    )
    remote.add_argument("--url", help="the server (default $PARALAB_URL)")
    sub = remote.add_subparsers(dest="remote_command", required=True, metavar="SUBCOMMAND", parser_class=type(remote))

    submit = sub.add_parser("submit", help="submit a job; --wait follows it with a progress bar")
    submit.add_argument("workload", help="workload name (see `paralab list`)")
    _add_params(submit)
    submit.add_argument("--backend", default="sequential", help="how the work is distributed (default sequential)")
    submit.add_argument("--implementation", "--impl", dest="implementation", default="python",
                        help="python or native (default python)")  # fmt: skip
    submit.add_argument("--workers", "-w", type=int, default=1, help="number of workers (default 1)")
    _add_common(submit)
    submit.set_defaults(handler=run_remote, remote_handler=command_submit)

    study = sub.add_parser("study", help="start a scaling study (or a preset); --wait prints its speedup table")
    study.add_argument("workload", nargs="?", help="workload name (omit with --preset)")
    _add_params(study)
    study.add_argument("--preset", help="a ready-made study, e.g. seed-fib")
    study.add_argument("--backends", type=_csv, help="comma-separated, e.g. threads,processes; sequential is added")
    study.add_argument("--implementations", "--impl", dest="implementations", type=_csv, default=["python"],
                       help="comma-separated (default python)")  # fmt: skip
    study.add_argument("--workers", "-w", type=_csv, help="worker counts, comma-separated (default 1..cores)")
    study.add_argument("--repetitions", "-r", type=int, help="runs of each configuration (default 3)")
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


def _add_params(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-p", "--param", dest="params", action="append", default=[], metavar="KEY=VALUE",
                        help="a workload parameter, repeatable; lists are comma-separated: -p ns=38,37,36")  # fmt: skip


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--team", help="team slug (needed if you may submit in several teams)")
    parser.add_argument("--wait", action="store_true", help="follow until it ends; the exit code says how it ended")
    parser.add_argument("--json", action="store_true", help="print the server's JSON")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def run_remote(args: argparse.Namespace) -> int:
    """The handler ``paralab`` calls: errors become one line on stderr and an exit code."""
    try:
        server = Server.from_environment(args.url)
        return int(args.remote_handler(server, args))
    except RemoteError as exc:
        print(f"paralab: error: {exc}", file=sys.stderr)
        return exc.code
