"""Side-by-side comparison of jobs or of studies: what differs in their parameters, set-up and provenance,
and how their timings and speedups line up. Reads only, through the scoped selectors."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from webapp.jobs.selectors import job_get_for_user
from webapp.jobs.services import JobInputError
from webapp.studies.selectors import (
    flatten,
    series_with_marks,
    study_analysis,
    study_get_for_user,
    study_progress,
    study_provenance,
    study_runs,
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


def compare_jobs(*, user: AbstractBaseUser, job_ids: list[int]) -> dict[str, Any]:
    jobs = [job_get_for_user(user=user, job_id=job_id) for job_id in job_ids]
    reference = jobs[0].wall_time
    items = []
    for job in jobs:
        speedup = reference / job.wall_time if reference and job.wall_time else None
        items.append(
            {
                "id": job.pk,
                "team": job.team.slug,
                "workload": job.workload,
                "backend": job.backend,
                "implementation": job.implementation,
                "workers": job.workers,
                "status": job.status,
                "verified": job.verified,
                "verification": job.verification,
                "wall_time": job.wall_time,
                "speedup_vs_first": speedup,
            }
        )
    setup = [{"workload": j.workload, "backend": j.backend, "implementation": j.implementation,
              "workers": str(j.workers)} for j in jobs]  # fmt: skip
    return {
        "items": items,
        "params": diff_rows([flatten(job.params) for job in jobs]),
        "setup": diff_rows(setup),
        "provenance": diff_rows([flatten(job.provenance) for job in jobs]),
    }


def compare_studies(*, user: AbstractBaseUser, study_ids: list[int]) -> dict[str, Any]:
    studies = [study_get_for_user(user=user, study_id=study_id) for study_id in study_ids]
    items, analyses, provenances = [], [], []
    for study in studies:
        runs = study_runs(study)
        analyses.append(
            {(s["backend"], s["implementation"]): s for s in series_with_marks(study_analysis(study, runs), runs)}
        )
        provenances.append({name: " / ".join(values) for name, values in study_provenance(study)})
        items.append(
            {
                "id": study.pk,
                "title": study.title,
                "team": study.team.slug,
                "workload": study.workload,
                "status": study_progress(study).status,
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
    return {
        "items": items,
        "params": diff_rows([flatten(s.params) for s in studies]),
        "setup": diff_rows(setup),
        "timings": timings,
        "fits": fits,
        "provenance": diff_rows(provenances),
    }
