"""A request body over ``PARALAB_MAX_BODY`` is refused with 413 before it is stored, wherever it would be.

Two places enforce the one limit:

- ``BodyLimitMiddleware``, an ASGI middleware around the HTTP app: it refuses a declared Content-Length
  over the limit without reading any body, and counts a streamed (chunked) body, refusing as it crosses
  the limit. Under a server that streams bodies to the app (uvicorn, hypercorn) that is all it takes.
- ``DaphneBodyLimitedRequest``: daphne (Twisted) receives the whole body, spooling it to a temporary
  file, before it calls the app at all, then queues all of it in memory for the app in one go (a 300 MB
  POST cost 300 MB of RSS). So under daphne the same limit is applied while Twisted parses the request:
  at the headers for a declared length, chunk by chunk for a chunked body.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from daphne import http_protocol

# As Django's ASGIHandler types them, so the middleware wraps it without a cast: messages are only read.
Scope = dict[str, Any]
Message = Mapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# After refusing, keep reading (and dropping) what the client is still sending for this long before
# closing: closing a socket with unread data sends a reset, which can destroy the 413 before it is read.
LINGER_SECONDS = 2.0


def too_large_body(limit: int) -> bytes:
    return json.dumps({"detail": f"the request body is too large: at most {limit // 1024} KB"}).encode()


def declared_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name.lower() == b"content-length" and value.strip().isdigit():
            return int(value)
    return None


class BodyLimitMiddleware:
    """413 for a body over ``limit`` bytes; the app sees only bodies within it (read here, at most ``limit``).

    Django reads the whole body before running a view anyway, so reading it here first changes nothing
    for the app, and a body over the limit is never handed to Django to copy and store.
    """

    def __init__(self, app: ASGIApp, *, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = declared_length(scope.get("headers", []))
        if length is not None and length > self.limit:
            await self.refuse(send)
            return
        received: list[Message] = []
        size = 0
        while True:
            message = await receive()
            received.append(message)
            if message["type"] != "http.request":
                break  # http.disconnect: hand it on, the app ends as it would have
            size += len(message.get("body", b""))
            if size > self.limit:
                await self.refuse(send)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return received.pop(0) if received else await receive()

        await self.app(scope, replay, send)

    async def refuse(self, send: Send) -> None:
        body = too_large_body(self.limit)
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class DaphneBodyLimitedRequest(http_protocol.WebRequest):
    """daphne's request, refusing a body over ``max_body`` while Twisted receives it (see the module doc)."""

    max_body = 1024 * 1024  # set by install_daphne_body_limit
    received = 0
    refused = False

    def gotLength(self, length: int | None) -> None:
        # Called once the headers are in; ``None`` for a chunked body, whose size is known only as it comes.
        if length is not None and length > self.max_body and isinstance(self.channel, http_protocol.http.HTTPChannel):
            super().gotLength(0)  # an empty in-memory body, never written to
            self.refuse()
            return
        super().gotLength(length)

    def handleContentChunk(self, data: bytes) -> None:
        if self.refused:
            return
        self.received += len(data)
        if self.received > self.max_body and isinstance(self.channel, http_protocol.http.HTTPChannel):
            self.refuse()
            return
        super().handleContentChunk(data)

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
        if not self.refused:  # a refused body's end can still arrive in the data being parsed
            super().requestReceived(command, path, version)

    def refuse(self) -> None:
        self.refused = True
        # No "100 Continue" after the final answer: Twisted sends one after gotLength if the client asked.
        self.requestHeaders.removeHeader(b"expect")
        channel = self.channel
        # Drop everything else on this connection unread and unparsed, as Twisted does after a last request.
        channel.persistent = False
        channel.dataReceived = channel.lineReceived = channel.rawDataReceived = lambda *args: None
        body = too_large_body(self.max_body)
        channel.transport.write(
            b"HTTP/1.1 413 Content Too Large\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
        )
        # Half-close: the client reads the 413 and the end of the answer, while what it still sends is dropped.
        channel.transport.loseWriteConnection()
        channel.callLater(LINGER_SECONDS, channel.transport.abortConnection)


def install_daphne_body_limit(limit: int) -> None:
    """Make daphne's HTTP factory build ``DaphneBodyLimitedRequest``s (it looks the class up per connection)."""
    DaphneBodyLimitedRequest.max_body = limit
    http_protocol.WebRequest = DaphneBodyLimitedRequest  # type: ignore[misc]
