"""POSTs to addresses users typed in, without letting them reach inside our network (SSRF).

http(s) only, no credentials in the URL, no redirects followed, a timeout on connecting and on each
read, and every address the name resolves to must be public unless PARALAB_WEBHOOK_ALLOW_PRIVATE is
on (a receiver on the same host or LAN, as in the tests). The connection goes to the very address
that was checked — the name is not resolved a second time — so a DNS answer that changes between the
check and the request (DNS rebinding) cannot point it at 127.0.0.1; TLS still checks the name.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from django.conf import settings

RESPONSE_EXCERPT = 200  # characters of the receiver's answer kept in the delivery log


class WebhookRefused(ValueError):
    """This URL may not be called; the message says why."""


@dataclass(frozen=True)
class Outcome:
    code: int | None  # the HTTP status, or None if no answer came
    error: str  # why there was no (good) answer; empty on 2xx
    ms: int  # time taken
    excerpt: str = ""  # the start of the answer's body


def url_check(url: str) -> SplitResult:
    """The parts of a URL we may POST to, or WebhookRefused (its shape only; addresses are checked on use)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise WebhookRefused("only http:// and https:// addresses can receive webhooks")
    if parts.username is not None or parts.password is not None:
        raise WebhookRefused("put no user or password in the address: the signature authenticates us")
    try:
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError:
        raise WebhookRefused("the port is not a number between 0 and 65535") from None
    if not parts.hostname:
        raise WebhookRefused("the address has no host name")
    return parts


def address_check(host: str, port: int) -> str:
    """The address to connect to for ``host``: WebhookRefused if it does not resolve or any answer is private."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise WebhookRefused(f"{host} does not resolve: {exc}") from None
    addresses = [str(info[4][0]) for info in infos]  # typeshed allows an int there (AF_PACKET); IP answers are text
    if not settings.PARALAB_WEBHOOK_ALLOW_PRIVATE:
        for text in addresses:
            ip = ipaddress.ip_address(text.split("%", 1)[0])
            if ip.version == 6 and ip.ipv4_mapped is not None:  # ::ffff:127.0.0.1 is 127.0.0.1
                ip = ip.ipv4_mapped
            if not ip.is_global or ip.is_multicast:
                raise WebhookRefused(f"{host} resolves to {ip}, a private, local or reserved address")
    return addresses[0]


def post(url: str, body: bytes, headers: dict[str, str]) -> Outcome:
    """One POST, never raising for network trouble: the outcome says what happened."""
    started = time.monotonic()

    def outcome(code: int | None, error: str, excerpt: str = "") -> Outcome:
        return Outcome(code, error, round((time.monotonic() - started) * 1000), excerpt)

    try:
        parts = url_check(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        host = parts.hostname or ""  # url_check refused a URL without one
        address = address_check(host, port)
    except WebhookRefused as exc:
        return outcome(None, f"refused: {exc}")
    timeout = settings.PARALAB_WEBHOOK_TIMEOUT
    if parts.scheme == "https":
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(
            host, port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
    # Connect to the address checked above; Host and TLS's server name stay the URL's host name.
    connection._create_connection = lambda _address, *args: socket.create_connection((address, port), *args)  # type: ignore[attr-defined]
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        excerpt = response.read(RESPONSE_EXCERPT).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException) as exc:  # refused, reset, timed out, TLS, a malformed answer
        return outcome(None, f"{type(exc).__name__}: {exc}"[:300])
    finally:
        connection.close()
    if 200 <= response.status < 300:
        return outcome(response.status, "", excerpt)
    if 300 <= response.status < 400:  # never followed: a redirect could lead anywhere, inside included
        return outcome(response.status, f"redirect to {response.getheader('Location', '?')[:200]} not followed")
    return outcome(response.status, f"HTTP {response.status} {response.reason}", excerpt)
