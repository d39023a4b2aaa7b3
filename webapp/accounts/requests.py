"""Request types for the views only a signed-in user reaches, so ``request.user`` is typed as a ``User``.

``login_required`` (pages) and DRF's default ``IsAuthenticated`` (API) turn the anonymous away before the
view runs; these classes tell the type checker what those guards already guarantee. They are annotations
only: nothing constructs them.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest
from rest_framework.request import Request


class AuthenticatedHttpRequest(HttpRequest):
    user: User


class AuthenticatedRequest(Request):
    user: User
