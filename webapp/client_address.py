"""The client's address when Paralab runs behind its own reverse proxies (``TRUSTED_PROXY_COUNT`` of them).

Login lockout (django-axes) and anything else reading ``REMOTE_ADDR`` would otherwise see only the
proxy's address, shared by every client.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest
from django.utils.deprecation import MiddlewareMixin


def client_ip(request: HttpRequest) -> str | None:
    """The address the outermost of our trusted proxies received the request from.

    Each proxy appends the address of its peer to X-Forwarded-For, so with N proxies of our own the
    client is the N-th entry from the right. Entries further left were written by the client and say
    whatever it likes, so the leftmost entry (what many guides read) is never used. Without trusted
    proxies, or with a header our proxies cannot have written, the peer's address stands.
    """
    peer = request.META.get("REMOTE_ADDR")
    count = settings.TRUSTED_PROXY_COUNT
    if count == 0:
        return peer
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    if len(hops) < count:
        return peer
    try:
        # Normalised, and never text that is not an address: axes stores it in an IP address column.
        return str(ipaddress.ip_address(hops[-count]))
    except ValueError:
        return peer


class ForwardedClientAddressMiddleware(MiddlewareMixin):
    """Puts the client's address (not our proxy's) in ``REMOTE_ADDR`` for Django and every app after it."""

    def process_request(self, request: HttpRequest) -> None:
        address = client_ip(request)
        if address is not None:
            request.META["REMOTE_ADDR"] = address
