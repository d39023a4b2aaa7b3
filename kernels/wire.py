"""JSON lines between the engine and its child processes (Redis workers, MPI ranks, isolated runs).

Unit payloads may hold bytes (Mandelbrot bands), carried as base64. JSON rather than pickle:
a value read from Redis or a pipe is data, never code.
"""

from __future__ import annotations

import base64
import json
from typing import Any

# Lines a child prints that start with this are events; any other line is a log line.
MARKER = "@@paralab "


def _default(obj: Any) -> Any:
    if isinstance(obj, (bytes, bytearray)):
        return {"__b64__": base64.b64encode(bytes(obj)).decode("ascii")}
    raise TypeError(f"cannot encode {type(obj).__name__}")


def _hook(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and "__b64__" in obj:
        return base64.b64decode(obj["__b64__"])
    return obj


def dumps(value: Any) -> str:
    return json.dumps(value, default=_default, separators=(",", ":"))


def loads(text: str | bytes) -> Any:
    return json.loads(text, object_hook=_hook)


def event_line(kind: str, **fields: Any) -> str:
    return MARKER + dumps({"kind": kind, **fields})


def parse_line(line: str) -> dict[str, Any] | None:
    """The event on this line, or None for a plain log line."""
    if not line.startswith(MARKER):
        return None
    try:
        event = loads(line[len(MARKER) :])
    except ValueError:
        return None
    return event if isinstance(event, dict) and "kind" in event else None
