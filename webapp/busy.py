"""A database pool that stayed busy for its whole wait: a 503 to retry, on pages as in the API, never a 500.

A request takes its connection at its first query, so one refused here has done nothing yet and
can be sent again as it is.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from psycopg_pool import PoolTimeout

RETRY_AFTER = "5"


def database_busy(exc: BaseException) -> str | None:
    """The reason to give when ``exc`` is the pool's timeout, else None."""
    if not (isinstance(exc, OperationalError) and isinstance(exc.__cause__, PoolTimeout)):
        return None
    waited = settings.DATABASES["default"]["OPTIONS"]["pool"]["timeout"]
    return f"the server is busy (no database connection free within {waited:g} s); try again in a moment"


class DatabaseBusyMiddleware:
    """Pages: the pool's timeout becomes a short 503 page with Retry-After (the API's handler does the same in JSON)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        reason = database_busy(exc)
        if reason is None:
            return None
        page = f"<!doctype html><title>Busy</title><h1>Paralab is busy</h1><p>{reason.capitalize()}.</p>"
        return HttpResponse(page, status=503, headers={"Retry-After": RETRY_AFTER})
