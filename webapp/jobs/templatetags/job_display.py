"""Display helpers for jobs: status and verification badges, durations, JSON."""

from __future__ import annotations

import json
from typing import Any

from django import template
from django.utils.html import format_html

from webapp.jobs.models import Status

register = template.Library()

# Verification is a tri-state: a failed reference check must stand out, "no check" must not look like a pass.
VERDICTS = {
    True: ("verified", "verified"),
    False: ("NOT verified", "not-verified"),
    None: ("unchecked", "unchecked"),
}


@register.simple_tag
def status_badge(status: str) -> str:
    label = Status(status).label if status in Status.values else status
    return format_html('<span class="badge status-{}">{}</span>', status, label)


@register.simple_tag
def verified_badge(verified: bool | None, detail: str = "") -> str:
    label, css = VERDICTS.get(verified, VERDICTS[None])
    if detail:
        return format_html('<span class="badge {}" title="{}">{}</span>', css, detail, label)
    return format_html('<span class="badge {}">{}</span>', css, label)


@register.filter
def duration(seconds: float | None) -> str:
    """1.234 s, 12.3 s, 2 min 05 s, 1 h 02 min; a dash when unknown."""
    if seconds is None or seconds == "":
        return "—"
    seconds = float(seconds)
    if seconds < 10:
        return f"{seconds:.3f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


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
