"""Display helpers for jobs: status and verification badges, durations, JSON."""

from __future__ import annotations

import json
import math
from typing import Any

from django import template
from django.utils.html import format_html

from kernels.backends.hybrid import layout_text
from webapp.jobs.models import Job, Status

register = template.Library()

# Verification is a tri-state: a failed reference check must stand out, "no check" must not look like a pass.
VERDICTS = {
    True: ("verified", "verified"),
    False: ("verification failed", "not-verified"),
    None: ("unchecked", "unchecked"),
}


@register.simple_tag
def status_badge(status: str) -> str:
    label = Status(status).label if status in Status.values else status
    return format_html('<span class="badge status-{}">{}</span>', status, label)


@register.simple_tag
def verified_badge(verified: bool | None, detail: str = "", status: str = Status.SUCCEEDED) -> str:
    """The verdict's badge; none for a job without a check that has not succeeded (an "unchecked" badge on a
    queued or failed job read as if the check had been skipped)."""
    if verified is None and status != Status.SUCCEEDED:
        return ""
    label, css = VERDICTS.get(verified, VERDICTS[None])
    if detail:
        return format_html('<span class="badge {}" title="{}">{}</span>', css, detail, label)
    return format_html('<span class="badge {}">{}</span>', css, label)


@register.filter
def duration(seconds: float | None, style: str = "") -> str:
    """Measured times: 1.234 s, 12.3 s, 2 min 05 s, 1 h 02 min; a dash when unknown.
    ``duration:"rough"`` for estimates and clocks: whole seconds, "7 s", "57 s", "1 min 37 s".
    The same rules as ``duration`` in static/js/job_display.js, which redraws these live."""
    if seconds is None or seconds == "":
        return "—"
    seconds = float(seconds)
    if style == "rough" and seconds < 60:
        return "under 1 s" if seconds < 1 else f"{math.floor(seconds + 0.5)} s"  # half up, as JavaScript rounds
    if seconds < 10:
        return f"{seconds:.3f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(math.floor(seconds + 0.5), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


@register.filter
def hybrid_layout(job: Job) -> str:
    """A hybrid job's MPI ranks × OpenMP threads: what ran, where it has run, else what it will run."""
    return layout_text(job.workers, job.threads, (job.provenance or {}).get("layout"))


@register.filter
def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


@register.filter
def plain_value(value: Any) -> str:
    """A provenance value on one line: lists joined, mappings as ``name version`` pairs."""
    if value is None or value == "":
        return "—"
    if isinstance(value, dict):
        return ", ".join(f"{key} {plain_value(item)}" for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(plain_value(item) for item in value)
    return str(value)


# Provenance fields in words; any other is its key with spaces ("packages.numpy" → "numpy").
PROVENANCE_LABELS = {
    "host": "Host",
    "python": "Python",
    "platform": "Platform",
    "cpu_model": "CPU model",
    "git_commit": "Git commit",
    "load_average": "Load average",
    "logical_cores": "Logical cores",
    "physical_cores": "Physical cores",
    "paralab_version": "Paralab version",
    "packages": "Packages",
    "layout": "Hybrid layout",
}


@register.filter
def field_label(key: str) -> str:
    """A provenance key as a reader says it: "cpu_model" → "CPU model", "packages.numpy" → "numpy (package)"."""
    if key in PROVENANCE_LABELS:
        return PROVENANCE_LABELS[key]
    group, _, name = str(key).partition(".")
    if name and group == "packages":
        return f"{name} (package)"
    text = str(key).replace("_", " ").replace(".", " ")
    return text[:1].upper() + text[1:]


@register.filter
def percent(share: float | None) -> str:
    """0.384 → "38%"."""
    return "—" if share is None else f"{share:.0%}"


@register.filter
def ratio(numerator: float | None, denominator: float | None) -> str:
    """cpu_time / wall_time → "1.93"."""
    if numerator is None or not denominator:
        return "—"
    return f"{numerator / denominator:.2f}"
