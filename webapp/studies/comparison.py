"""Side-by-side comparison of jobs or of studies: what differs in their parameters, set-up and provenance,
and how their timings and speedups line up. Reads only, through the scoped selectors."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.models import User

from webapp.jobs.document import COMPARE_FIELDS, job_document
from webapp.jobs.models import Job, Status
from webapp.jobs.selectors import jobs_get_for_user
from webapp.jobs.services import JobInputError
from webapp.studies.selectors import (
    flatten,
    progress_of_runs,
    series_with_marks,
    studies_get_for_user,
    studies_provenance,
    studies_runs,
    study_analysis,
)

MAX_COMPARED = 10


def parse_ids(field: str, raw: list[str]) -> list[int]:
    """``["3,4", "7"]`` (repeated or comma-separated query values) → ``[3, 4, 7]``, in order, without repeats."""
    ids: list[int] = []
    for part in ",".join(raw).split(","):
        part = part.strip().lstrip("#")
        if not part:
            continue
        # isascii: "²".isdigit() is true, but int("²") fails; 18 digits fit a 64-bit id.
        if not (part.isascii() and part.isdigit() and len(part) <= 18):
            raise JobInputError(field, f"must be ids separated by commas, got {part[:20]!r}")
        if int(part) not in ids:
            ids.append(int(part))
    if len(ids) > MAX_COMPARED:
        raise JobInputError(field, f"compare at most {MAX_COMPARED} at a time, got {len(ids)}")
    return ids


def diff_rows(records: list[dict[str, str]]) -> list[dict[str, Any]]:
    """One row per field found in any record: its value in each (a dash when absent) and whether they differ."""
    names: list[str] = []
    for record in records:
        names += [name for name in record if name not in names]
    rows = []
    for name in names:
        values = [record.get(name, "—") for record in records]
        rows.append({"name": name, "values": values, "differs": len(set(values)) > 1})
    return rows


def shown_params(params: dict[str, Any]) -> str:
    """``ns=[38..33], seed=7``: lists of consecutive integers shortened, so a reason fits one line."""

    def shown(value: Any) -> str:
        steps = {b - a for a, b in zip(value, value[1:], strict=False)} if isinstance(value, list) else set()
        if (
            len(value if isinstance(value, list) else ()) >= 3
            and steps in ({1}, {-1})
            and all(isinstance(item, int) for item in value)
        ):
            return f"[{value[0]}..{value[-1]}]"
        return json.dumps(value) if isinstance(value, (list, dict)) else str(value)

    return ", ".join(f"{key}={shown(value)}" for key, value in params.items()) or "its defaults"


def not_comparable(job: Job, reference: Job) -> str:
    """Why ``job``'s time says nothing about a speedup over ``reference``'s, or "" when it does.

    A speedup is a ratio of times of the same work: the same workload with the same parameters, in the same
    implementation (python against native would mix the kernel's speed with the parallelism), both
    succeeded with a time, neither failing verification.
    """
    for other in (reference, job):
        if other.status != Status.SUCCEEDED or other.wall_time is None:
            return f"job #{other.pk} has no time ({other.status})"
        if other.verified is False:
            return f"job #{other.pk} failed verification: its time is not a result"
    if job.workload != reference.workload:
        return (
            f"job #{job.pk} ran {job.workload} and job #{reference.pk} {reference.workload}: times are not comparable"
        )
    if job.params != reference.params:
        return (
            f"job #{job.pk} ran {job.workload} with {shown_params(job.params)} and job #{reference.pk} with "
            f"{shown_params(reference.params)}: times are not comparable"
        )
    if job.implementation != reference.implementation:
        return (
            f"job #{job.pk} ran the {job.implementation} implementation and job #{reference.pk} the "
            f"{reference.implementation} one: the ratio would mix the kernel's speed with the parallelism"
        )
    return ""


def compare_jobs(*, user: User, job_ids: list[int]) -> dict[str, Any]:
    """The jobs side by side; a speedup against the first job only where the two did the same work."""
    jobs = jobs_get_for_user(user=user, job_ids=job_ids)
    first = jobs[0]
    items = []
    for job in jobs:
        reason = not_comparable(job, first)
        speedup = (
            first.wall_time / job.wall_time if not reason and first.wall_time is not None and job.wall_time else None
        )
        items.append({**job_document(job, COMPARE_FIELDS), "speedup_vs_first": speedup, "not_comparable": reason})
    setup = [{"workload": j.workload, "backend": j.backend, "implementation": j.implementation,
              "workers": str(j.workers)} for j in jobs]  # fmt: skip
    return {
        "items": items,
        "params": diff_rows([flatten(job.params) for job in jobs]),
        "setup": diff_rows(setup),
        "provenance": diff_rows([flatten(job.provenance) for job in jobs]),
    }


def compare_studies(*, user: User, study_ids: list[int]) -> dict[str, Any]:
    # A constant number of queries, however many studies: them, their runs, their jobs' provenance.
    studies = studies_get_for_user(user=user, study_ids=study_ids)
    runs_of, provenance_of = studies_runs(studies), studies_provenance(studies)
    items, analyses, provenances = [], [], []
    for study in studies:
        runs = runs_of[study.pk]
        analyses.append(
            {(s["backend"], s["implementation"]): s for s in series_with_marks(study_analysis(study, runs), runs)}
        )
        provenances.append({name: " / ".join(values) for name, values in provenance_of[study.pk]})
        items.append(
            {
                "id": study.pk,
                "title": study.title,
                "team": study.team.slug,
                "workload": study.workload,
                "status": progress_of_runs(runs).status,
            }
        )
    setup = [
        {
            "workload": s.workload,
            "backends": ", ".join(s.backends),
            "implementations": ", ".join(s.implementations),
            "workers": ", ".join(str(w) for w in s.workers),
            "repetitions": str(s.repetitions),
        }
        for s in studies
    ]
    keys: list[tuple[str, str]] = []
    for analysis in analyses:
        keys += [key for key in analysis if key not in keys]
    timings, fits = [], []
    for key in keys:
        counts = sorted({p["workers"] for a in analyses if key in a for p in a[key]["points"]})
        for workers in counts:
            cells = []
            for analysis in analyses:
                point = next((p for p in analysis.get(key, {}).get("points", []) if p["workers"] == workers), None)
                cells.append(point)
            timings.append({"backend": key[0], "implementation": key[1], "workers": workers, "cells": cells})
        if key[0] != "sequential":
            fits.append(
                {
                    "backend": key[0],
                    "implementation": key[1],
                    "serial_fraction": [
                        (a[key]["amdahl"] or {}).get("serial_fraction") if key in a else None for a in analyses
                    ],
                }
            )
    first = studies[0]
    # Each speedup is against its own study's sequential run; times across studies only compare for the same work.
    notes = [
        f"study #{s.pk} ran {s.workload} with {shown_params(s.params)} and study #{first.pk} "
        + (f"{first.workload}" if s.workload != first.workload else f"with {shown_params(first.params)}")
        + ": times are not comparable across them; each speedup is against its own study's sequential run"
        for s in studies[1:]
        if (s.workload, s.params) != (first.workload, first.params)
    ]
    return {
        "items": items,
        "not_comparable": notes,
        "params": diff_rows([flatten(s.params) for s in studies]),
        "setup": diff_rows(setup),
        "timings": timings,
        "fits": fits,
        "provenance": diff_rows(provenances),
    }
