"""Sockets refused at once (no login, a foreign origin), in a burst, on a real daphne: once they are closed,
none of them keeps a Redis connection waiting (webapp/channel_layer.py). A consumer whose channel-layer
receive lost its cancel sat in BZPOPMIN until daphne cancelled it again, 10 s later: 1 of these 40 did."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from websockets.exceptions import ConnectionClosed, InvalidMessage, InvalidStatus
from websockets.sync.client import connect

from tests.services import free_port, start_daphne
from tests.webapp.jobs.sockets import OwnRedis

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

BURST = 40


def blocked_clients(url: str) -> int:
    """Redis clients blocked in a command (each socket's receive waits in BZPOPMIN)."""
    with redis.Redis.from_url(url) as store:
        return int(store.info("clients")["blocked_clients"])


def refused(url: str, origin: str) -> int | str:
    """How the server refused one socket: the handshake's HTTP status, or the close code."""
    try:
        with connect(url, additional_headers={"Origin": origin}, open_timeout=30) as ws:
            ws.recv(timeout=30)
    except InvalidStatus as exc:  # the foreign origin: refused in the handshake
        return exc.response.status_code
    except InvalidMessage:  # refused in the handshake too: daphne logged WSREJECT, the 403 never came (1 in 20, once)
        return "closed in the handshake"
    except ConnectionClosed as exc:  # no login: accepted, then closed
        return exc.rcvd.code if exc.rcvd else "no close frame"
    return "not refused"


def test_a_burst_of_refused_sockets_leaves_no_redis_connection_waiting():
    own = OwnRedis()
    port = free_port()
    web = start_daphne("refused-sockets-web", port, **own.env)
    try:
        url = f"ws://127.0.0.1:{port}/ws/teams/team-a/"
        origins = [f"http://127.0.0.1:{port}", "http://evil.example"] * (BURST // 2)
        with ThreadPoolExecutor(BURST) as pool:  # at once: each new socket's receive opens a Redis connection
            codes = list(pool.map(lambda origin: refused(url, origin), origins))
        assert set(codes[0::2]) == {4401}, codes  # no login
        assert set(codes[1::2]) <= {403, "closed in the handshake"} and 403 in codes[1::2], codes  # foreign origin
        deadline = time.monotonic() + 5  # daphne's application_close_timeout, which ended them before, is 10 s
        while (waiting := blocked_clients(own.env["REDIS_URL"])) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert waiting == 0, f"{waiting} of {BURST} refused sockets' receives still wait in Redis"
    finally:
        web.stop()
        own.server.stop()
