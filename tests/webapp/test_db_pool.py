"""PostgreSQL connections under ASGI: a burst of requests uses the pool, never one connection per request thread.

Django under daphne runs each request's sync code in a thread of its own; with persistent connections
every such thread kept one, and a burst of 50–90 requests got "FATAL: sorry, too many clients
already" (and refused every other client of the server). The psycopg pool bounds them.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from django.db import connection
from django.test import Client

from tests.services import free_port, start_daphne

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the connection pool is PostgreSQL's"),
    pytest.mark.slow,  # a real daphne and 200 requests: 5-10 s each
]

REQUESTS = 200
POOL_MAX = 10
SERVER = "paralab-pool-test"  # the server's connections carry it as application_name (libpq reads PGAPPNAME)


class ConnectionSampler(threading.Thread):
    """Counts the server's connections to the test database every 20 ms (not the test process's own)."""

    def __init__(self):
        super().__init__(daemon=True)
        db = connection.settings_dict
        self.probe = psycopg.connect(
            host=db["HOST"],
            port=db["PORT"],
            user=db["USER"],
            password=db["PASSWORD"],
            dbname=db["NAME"],
            autocommit=True,
        )
        self.database = db["NAME"]
        self.samples: list[int] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.02):
            self.samples.append(self.count())

    def count(self) -> int:
        return self.probe.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND application_name = %s",
            [self.database, SERVER],
        ).fetchone()[0]


def burst(
    port: int, headers: list[dict[str, str]], path: str = "/api/v1/jobs/"
) -> list[tuple[int, dict[str, str], bytes]]:
    """GET ``path`` REQUESTS times at once, cycling through ``headers``: (status, headers, body) of each."""
    start = threading.Barrier(REQUESTS)

    def get(i: int) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers[i % len(headers)])
        start.wait()
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    with ThreadPoolExecutor(max_workers=REQUESTS) as pool:
        return list(pool.map(get, range(REQUESTS)))


@pytest.fixture
def request_headers(team_setup) -> list[dict[str, str]]:
    """Anonymous with a bogus token (401), the API with a real token, and a logged-in browser session."""
    from webapp.accounts.services import token_create

    _, token = token_create(user=team_setup["alice"], name="burst")
    browser = Client()
    browser.force_login(team_setup["bob"])
    return [
        {"Authorization": "Bearer plb_not-a-real-token"},
        {"Authorization": f"Bearer {token}"},
        {"Cookie": f"sessionid={browser.cookies['sessionid'].value}"},
    ]


def test_a_burst_of_200_requests_stays_within_the_pool(request_headers):
    port = free_port()
    web = start_daphne("pool-web", port, PARALAB_DB_POOL_MAX=str(POOL_MAX), PGAPPNAME=SERVER)
    sampler = ConnectionSampler()
    sampler.start()
    try:
        answers = burst(port, request_headers)
        during = max(sampler.samples)
        time.sleep(1)  # a second later: what the server keeps between bursts
        after = sampler.count()
    finally:
        sampler.stop.set()
        sampler.join()
        sampler.probe.close()
        web.stop()
    print(f"peak connections during {REQUESTS} concurrent requests: {during}; one second after: {after}")
    statuses = [status for status, _, _ in answers]
    assert sorted(set(statuses)) == [200, 401], {code: statuses.count(code) for code in set(statuses)}
    assert statuses.count(401) == len(range(0, REQUESTS, 3))
    assert 0 < during <= POOL_MAX
    assert after <= POOL_MAX


def test_a_request_that_waits_too_long_for_a_connection_gets_503(request_headers):
    """One connection and a 0.2 s wait for it: most of a burst of 200 cannot get one, and is told to retry."""
    port = free_port()
    web = start_daphne("pool-web-starved", port, PARALAB_DB_POOL_MAX="1", PARALAB_DB_POOL_TIMEOUT="0.2")
    try:
        answers = burst(port, request_headers)
    finally:
        web.stop()
    statuses = [status for status, _, _ in answers]
    print("one connection, 0.2 s wait:", {code: statuses.count(code) for code in sorted(set(statuses))})
    assert set(statuses) <= {200, 401, 503}, {code: statuses.count(code) for code in set(statuses)}
    refused = [(headers, json.loads(body)) for status, headers, body in answers if status == 503]
    assert refused, "no request waited longer than 0.2 s for the only connection"
    for headers, body in refused:
        assert headers["Retry-After"] == "5"
        assert body == {
            "detail": "the server is busy (no database connection free within 0.2 s); try again in a moment"
        }


def test_a_page_that_waits_too_long_for_a_connection_gets_a_503_page_not_a_500(request_headers):
    port = free_port()
    web = start_daphne("pool-web-starved-pages", port, PARALAB_DB_POOL_MAX="1", PARALAB_DB_POOL_TIMEOUT="0.2")
    session = [headers for headers in request_headers if "Cookie" in headers]
    try:
        answers = burst(port, session, path="/")
    finally:
        web.stop()
    statuses = [status for status, _, _ in answers]
    assert set(statuses) <= {200, 503}, {code: statuses.count(code) for code in set(statuses)}
    refused = [(headers, body) for status, headers, body in answers if status == 503]
    assert refused, "no request waited longer than 0.2 s for the only connection"
    for headers, body in refused:
        assert headers["Retry-After"] == "5" and b"no database connection free within 0.2 s" in body
