"""Typed, bounded workload parameters: every value a user sends is checked here."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


class ParamError(ValueError):
    """A parameter failed validation; ``field`` names it, ``reason`` says why."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class Param:
    """One parameter: ``kind`` is ``int``, ``float`` or ``int_list``."""

    name: str
    kind: str
    default: Any
    minimum: float
    maximum: float
    help: str = ""
    max_items: int = 0  # int_list only

    def bound_text(self) -> str:
        text = f"between {_fmt(self.minimum)} and {_fmt(self.maximum)}"
        if self.kind == "int_list":
            return f"1 to {self.max_items} integers, each {text}"
        return text

    def clean(self, raw: Any) -> Any:
        if self.kind == "int_list":
            return self._clean_list(raw)
        value = _to_number(self.name, raw, self.kind)
        self._check_bounds(self.name, value)
        return value

    def _clean_list(self, raw: Any) -> list[int]:
        if isinstance(raw, str):
            raw = [part for part in raw.replace(" ", "").strip("[]").split(",") if part]
        if not isinstance(raw, (list, tuple)):
            raise ParamError(self.name, f"must be a list of integers ({self.bound_text()})")
        if not 1 <= len(raw) <= self.max_items:
            raise ParamError(self.name, f"must have 1 to {self.max_items} items, got {len(raw)}")
        values = [_to_number(self.name, item, "int") for item in raw]
        for value in values:
            self._check_bounds(self.name, value)
        return values

    def _check_bounds(self, field: str, value: float) -> None:
        if not self.minimum <= value <= self.maximum:
            raise ParamError(field, f"must be {self.bound_text()}, got {_fmt(value)}")

    def as_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {
            "name": self.name,
            "type": self.kind,
            "default": self.default,
            "minimum": self.minimum,
            "maximum": self.maximum,
            "help": self.help,
        }
        if self.kind == "int_list":
            schema["max_items"] = self.max_items
        return schema


def _fmt(value: float) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{value:g}"
    return f"{int(value):,}".replace(",", "_") if abs(value) >= 10_000 else str(int(value))


def _to_number(field: str, raw: Any, kind: str) -> Any:
    # bool is an int subclass in Python; "true" is never a valid count.
    if isinstance(raw, bool):
        raise ParamError(field, f"must be {'an integer' if kind == 'int' else 'a number'}, got a boolean")
    try:
        if kind == "int":
            if isinstance(raw, float):
                if not raw.is_integer():
                    raise ValueError
                return int(raw)
            if isinstance(raw, str):
                raw = raw.strip().replace("_", "")
                if len(raw) > 40:
                    raise ValueError
            return int(raw)
        value = float(raw)
        if not math.isfinite(value):
            raise ValueError
        return value
    except (TypeError, ValueError, OverflowError):
        noun = "an integer" if kind == "int" else "a finite number"
        raise ParamError(field, f"must be {noun}, got {str(raw)[:40]!r}") from None


def validate(schema: tuple[Param, ...], raw: dict[str, Any] | None) -> dict[str, Any]:
    """Return the cleaned parameters with defaults filled in; raise ParamError on the first bad one."""
    raw = dict(raw or {})
    known = {param.name for param in schema}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ParamError(unknown[0], f"unknown parameter; expected one of {', '.join(sorted(known))}")
    return {p.name: p.clean(raw[p.name]) if p.name in raw else p.default for p in schema}


def parse_assignments(items: list[str]) -> dict[str, str]:
    """``["ns=38,37", "seed=3"]`` → ``{"ns": "38,37", "seed": "3"}`` (the CLIs' ``-p``); the schema parses values.

    Raises ValueError with the message both CLIs print.
    """
    params = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"-p expects KEY=VALUE, got {item!r}")
        params[key.strip()] = value
    return params
