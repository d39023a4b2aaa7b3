"""DRF authentication with personal API tokens: ``Authorization: Bearer plb_…``."""

from __future__ import annotations

from typing import Any

from rest_framework import authentication, exceptions

from webapp.accounts.services import token_authenticate


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keywords = ("bearer", "token")

    def authenticate(self, request: Any) -> tuple[Any, None] | None:
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0].lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization header must be 'Bearer <token>'.")
        user = token_authenticate(header[1])
        if user is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API token.")
        return user, None

    def authenticate_header(self, request: Any) -> str:
        # Makes DRF answer 401 (with WWW-Authenticate) rather than 403 when credentials are missing.
        return 'Bearer realm="api"'
