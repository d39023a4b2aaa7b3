"""Errors the engine raises; each carries a message fit to show a user as is."""

from __future__ import annotations


class EngineError(RuntimeError):
    """A run could not start or did not finish."""


class UnsupportedCombination(EngineError, ValueError):
    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class Cancelled(EngineError):
    """The run was cancelled; its processes have been killed."""


class DeadlineExceeded(Cancelled):
    """The run hit its time limit; its processes have been killed."""


class WorkerFailed(EngineError):
    """A worker process died or a unit raised."""
