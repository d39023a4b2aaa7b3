"""Browser fixtures: a real ASGI server (daphne) on the suite's test database, and Debian's headless Chromium.

The server, the Celery worker (tests/conftest.py) and the test share one database, so tests that
use them are ``django_db(transaction=True)``: what a test writes is committed where daphne can see it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build"
CHROMIUM = Path("/usr/bin/chromium")  # Debian's package; Playwright's own downloads are not used
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
PASSWORD = "pw-for-tests-1"  # tests/conftest.py's make_user


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_http(url: str, proc: subprocess.Popen, log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return  # any HTTP answer means the server is up
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"daphne did not answer at {url}; its log:\n{log_path.read_text(errors='replace')[-3000:]}")


@pytest.fixture(scope="session")
def asgi_server(django_db_setup, django_db_blocker) -> Iterator[str]:
    """The whole product (pages, static files, WebSockets) served by daphne; yields its base URL."""
    BUILD.mkdir(exist_ok=True)
    port = _free_port()
    log_path = BUILD / "daphne.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "PARALAB_TEST_DB_NAME": str(connection.settings_dict["NAME"]),
    }
    daphne = Path(sys.executable).parent / "daphne"
    command = [str(daphne), "-b", "127.0.0.1", "-p", str(port), "webapp.asgi:application"]
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_http(f"{url}/accounts/login/", proc, log_path, timeout=30)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture
def browser():
    """Headless Chromium from the distribution (`apt-get install chromium`), driven by Playwright.

    One per test, not per session: while Playwright's sync API runs, its event loop counts as
    running in this thread, and Django refuses database access there. Function-scoped, it stops
    before pytest-django flushes the database, and the next test's fixtures run before it starts.
    """
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's package (apt-get install -y chromium), as .ci/run does")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def open_page(browser, asgi_server) -> Iterator[Callable[..., object]]:
    """open_page(username, javascript=True): a page in a browser context of its own, logged in through the form."""
    contexts = []

    def open_page(username: str | None = None, *, javascript: bool = True):
        context = browser.new_context(base_url=asgi_server, java_script_enabled=javascript)
        context.set_default_timeout(30_000)
        contexts.append(context)
        page = context.new_page()
        if username is not None:
            log_in(page, username)
        return page

    yield open_page
    for context in contexts:
        context.close()


def log_in(page, username: str) -> None:
    page.goto("/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: urlsplit(url).path == "/")  # the dashboard
