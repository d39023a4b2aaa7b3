"""How ``paralab`` describes a finished job, in one text for a run here (``paralab run``) and a job on a server
(``paralab remote submit --wait``): it reads the API's job (GET /api/v1/jobs/<id>/), and a local run is first
put in that shape (run_document)."""

from __future__ import annotations

import json
from typing import Any

from kernels.backends.hybrid import layout_text
from kernels.engine import RunResult

VERDICTS = {True: "verified", False: "failed", None: "unchecked"}


def number(value: float | None, digits: int = 2) -> str:
    """A figure as the CLI prints it: ``digits`` decimals (seconds take 3), or "—" when there is none."""
    return "—" if value is None else f"{value:.{digits}f}"


def run_document(result: RunResult) -> dict[str, Any]:
    """A run here as the API shows a job: the fields describe_job reads, named as the API names them. A run
    that returns ran to its end, so it succeeded; it has no id, no worker host to name and no artifact links."""
    document = result.summary()
    document["result"] = document.pop("value")
    document["artifacts"] = [{"name": name, "size": len(result.artifacts[name])} for name in document["artifacts"]]
    # The server keeps the layout a hybrid run ran in its provenance; the threads asked are in that layout.
    document["provenance"] = {"layout": document.pop("layout")}
    return {**document, "status": "succeeded", "worker_host": "", "threads": None}


def describe_job(job: dict[str, Any]) -> str:
    """The result, its verification and its time, a hybrid job's ranks × threads, then the names of its files;
    for a job that did not succeed, why not (and its ranks × threads)."""
    succeeded = job["status"] == "succeeded"
    if succeeded:
        wall_time, workers = job.get("wall_time"), job["workers"]
        host = f" on {job['worker_host']}" if job.get("worker_host") else ""  # "" for a run here
        lines = [
            f"result: {json.dumps(job.get('result'), default=str)}",
            f"verification: {VERDICTS[job.get('verified')]} ({job.get('verification') or 'no detail'})",
            f"wall time: {number(wall_time, 3)} s ({job['backend']} × "
            f"{job['implementation']}, {workers} worker{'s' if workers != 1 else ''}){host}",
        ]
    else:
        lines = [f"job #{job['id']} {job['status']}: {job.get('error') or 'no error text'}"]
    if job["backend"] == "hybrid":  # what ran: the default layout is chosen on the host that ran it
        ran = (job.get("provenance") or {}).get("layout")
        lines.append(f"layout: {layout_text(job['workers'], job.get('threads'), ran)}")
    if succeeded:
        lines += [f"artifact: {artifact['name']}" for artifact in job.get("artifacts") or []]
    return "\n".join(lines)
