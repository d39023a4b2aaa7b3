"""API error shape: every error is JSON naming the field and the reason; nothing becomes a 500."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from webapp.busy import RETRY_AFTER, database_busy
from webapp.jobs.services import BrokerUnavailable, JobInputError, TooManyActiveJobs


def error_body(field: str, reason: str) -> dict[str, Any]:
    """``params.ns`` becomes ``{"params": {"ns": [reason]}}``; ``workers`` becomes ``{"workers": [reason]}``."""
    head, _, rest = field.partition(".")
    return {head: {rest: [reason]}} if rest else {head: [reason]}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 1024
        return Response({"detail": f"the request body is too large: at most {limit} KB"}, status=413)
    if isinstance(exc, TooManyActiveJobs):
        return Response({"detail": exc.reason}, status=429, headers={"Retry-After": "60"})
    if isinstance(exc, JobInputError):
        return Response(error_body(exc.field, exc.reason), status=400)
    if isinstance(exc, BrokerUnavailable):
        return Response({"detail": f"{exc}. Try again in a moment."}, status=503, headers={"Retry-After": "10"})
    busy = database_busy(exc)
    if busy is not None:
        return Response({"detail": busy}, status=503, headers={"Retry-After": RETRY_AFTER})
    return drf_exception_handler(exc, context)
