"""Bodies over PARALAB_MAX_BODY are refused with 413 before they are stored (issue 10, item 7).

The field condition: a 300 MB anonymous POST to daphne got its 401 after 2.2 s, the server's memory up
300 MB and never given back; a client sending only the headers of such a request held a connection with
no answer at all. Here against a real daphne serving webapp.asgi, and the ASGI middleware on its own
in front of Django's real ASGI handler.
"""

from __future__ import annotations

import json
import select
import socket
import time

import psutil
import pytest
from asgiref.testing import ApplicationCommunicator
from django.conf import settings
from django.core.asgi import get_asgi_application

from tests.services import free_port, start_daphne
from webapp.body_limit import BodyLimitMiddleware

HUGE = 300 * 1024 * 1024
MIB = 1024 * 1024
TOO_LARGE = {"detail": f"the request body is too large: at most {settings.PARALAB_MAX_BODY // 1024} KB"}


@pytest.fixture(scope="module")
def web(django_db_setup, django_db_blocker):
    port = free_port()
    server = start_daphne("body-limit-web", port)
    try:
        yield server, port
    finally:
        server.stop()


def rss(server) -> int:
    return psutil.Process(server.pid).memory_info().rss


def post_head(port: int, headers: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(
        f"POST /api/v1/jobs/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{headers}\r\n".encode()
    )
    return sock


def read_answer(sock: socket.socket) -> tuple[int, dict, bytes]:
    """Status, JSON body and raw head of one HTTP/1.1 answer (the server closes the connection after it)."""
    raw = b""
    while chunk := sock.recv(65536):
        raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body), head


def warm(port: int) -> None:
    """One ordinary request first, so Django's first-request imports do not count as growth."""
    sock = post_head(port, "Content-Length: 2\r\nConnection: close\r\n")
    sock.sendall(b"{}")
    assert read_answer(sock)[0] == 401


def test_a_declared_300_mb_body_is_refused_at_the_headers(web):
    server, port = web
    warm(port)
    before = rss(server)
    started = time.monotonic()
    sock = post_head(port, f"Content-Length: {HUGE}\r\n")
    sock.sendall(b'{"workload": "fib"')  # and nothing more: the answer must not wait for the rest
    status, body, _ = read_answer(sock)
    elapsed = time.monotonic() - started
    assert (status, body) == (413, TOO_LARGE)
    assert elapsed < 5, elapsed  # well before the 10 s socket timeout that waiting for the rest would hit
    assert rss(server) - before < 50 * MIB


def test_a_streamed_300_mb_chunked_body_is_refused_once_over_the_limit(web):
    server, port = web
    warm(port)
    before = rss(server)
    peak = before
    sock = post_head(port, "Transfer-Encoding: chunked\r\n")
    chunk = b"%x\r\n%s\r\n" % (64 * 1024, b"0" * 64 * 1024)
    sent = 0
    # A client that stops sending once it has an answer, as curl does.
    while sent < HUGE and not select.select([sock], [], [], 0)[0]:
        sock.sendall(chunk)
        sent += 64 * 1024
        peak = max(peak, rss(server)) if sent % (16 * MIB) == 0 else peak
    if sent >= HUGE:
        sock.sendall(b"0\r\n\r\n")
    status, body, _ = read_answer(sock)
    assert (status, body) == (413, TOO_LARGE)
    assert sent < 16 * MIB, f"the server answered only after {sent // MIB} MiB"
    assert max(peak, rss(server)) - before < 50 * MIB


def test_expect_100_continue_gets_the_413_and_no_invitation_to_send(web):
    _, port = web
    sock = post_head(port, f"Content-Length: {HUGE}\r\nExpect: 100-continue\r\n")
    status, body, head = read_answer(sock)
    assert (status, body) == (413, TOO_LARGE) and b"100 Continue" not in head


def test_bodies_within_the_limit_reach_django(web):
    _, port = web
    payload = json.dumps({"workload": "fib", "pad": "x" * 100_000}).encode()
    sock = post_head(port, f"Content-Length: {len(payload)}\r\nConnection: close\r\n")
    sock.sendall(payload)
    assert read_answer(sock)[:2] == (401, {"detail": "Authentication credentials were not provided."})


# The middleware alone, in front of Django's ASGI handler (what serves HTTP under any ASGI server).


def http_scope(headers: list[tuple[bytes, bytes]]) -> dict:
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
            "path": "/api/v1/jobs/", "raw_path": b"/api/v1/jobs/", "query_string": b"", "root_path": "",
            "headers": [(b"host", b"testserver"), (b"content-type", b"application/json"), *headers],
            "client": ("127.0.0.1", 1), "server": ("testserver", 80)}  # fmt: skip


async def answer(communicator: ApplicationCommunicator) -> tuple[int, dict]:
    start = await communicator.receive_output(timeout=5)
    body = await communicator.receive_output(timeout=5)
    return start["status"], json.loads(body["body"])


@pytest.fixture
def guarded_django():
    return BodyLimitMiddleware(get_asgi_application(), limit=settings.PARALAB_MAX_BODY)


@pytest.mark.asyncio
async def test_the_middleware_refuses_a_declared_length_without_reading_the_body(guarded_django):
    communicator = ApplicationCommunicator(guarded_django, http_scope([(b"content-length", str(HUGE).encode())]))
    # No body is sent at all: an app that waited for it would never answer.
    assert await answer(communicator) == (413, TOO_LARGE)
    await communicator.wait(timeout=5)


@pytest.mark.asyncio
async def test_the_middleware_refuses_a_streamed_body_as_it_crosses_the_limit(guarded_django):
    communicator = ApplicationCommunicator(guarded_django, http_scope([]))
    for _ in range(settings.PARALAB_MAX_BODY // (64 * 1024) + 1):
        await communicator.send_input({"type": "http.request", "body": b"0" * 64 * 1024, "more_body": True})
    # The stream is not over, yet the answer is there.
    assert await answer(communicator) == (413, TOO_LARGE)
    await communicator.wait(timeout=5)


@pytest.mark.asyncio
async def test_the_middleware_hands_a_body_within_the_limit_to_django(guarded_django):
    communicator = ApplicationCommunicator(guarded_django, http_scope([(b"content-length", b"2")]))
    await communicator.send_input({"type": "http.request", "body": b"{", "more_body": True})
    await communicator.send_input({"type": "http.request", "body": b"}", "more_body": False})
    assert await answer(communicator) == (401, {"detail": "Authentication credentials were not provided."})
    await communicator.wait(timeout=5)
