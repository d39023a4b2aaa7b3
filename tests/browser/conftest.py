"""Browser fixtures: a real ASGI server (daphne) on the suite's test database, and Debian's headless Chromium.

The server, the Celery worker (tests/conftest.py) and the test share one database, so tests that
use them are ``django_db(transaction=True)``: what a test writes is committed where daphne can see it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.services import daphne_serving

CHROMIUM = Path("/usr/bin/chromium")  # Debian's package; Playwright's own downloads are not used
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
PASSWORD = "pw-for-tests-1"  # tests/conftest.py's make_user


@pytest.fixture(scope="session")
def asgi_server(django_db_setup, django_db_blocker) -> Iterator[str]:
    """The whole product (pages, static files, WebSockets) served by daphne; yields its base URL."""
    with daphne_serving("daphne") as url:
        yield url


@pytest.fixture
def browser():
    """Headless Chromium from the distribution (`apt-get install chromium`), driven by Playwright.

    One per test, not per session: while Playwright's sync API runs, its event loop counts as
    running in this thread, and Django refuses database access there. Function-scoped, it stops
    before pytest-django flushes the database, and the next test's fixtures run before it starts.
    """
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's package (apt-get install -y chromium), as .ci/run does")
    from playwright.sync_api import expect, sync_playwright

    # expect() waits 5 s by default, whatever the context's timeout: a loaded host needs longer for what
    # arrives after a second fetch (a study page's parts, a finished job's provenance). A pass costs nothing.
    expect.set_options(timeout=20_000)
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
