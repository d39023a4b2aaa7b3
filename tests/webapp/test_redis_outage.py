"""The log filter for Redis outages (webapp/redis_outage.py), on a real connection error from a port
nothing listens on. Its effect on daphne's own log: tests/webapp/jobs/test_relay.py."""

import logging
import sys

import pytest
import redis

from tests.services import free_port
from webapp.redis_outage import RedisOutage


def record(name: str, error: BaseException | None) -> logging.LogRecord:
    info = (type(error), error, error.__traceback__) if error else None
    return logging.LogRecord(name, logging.ERROR, __file__, 1, "Unexpected exception in receive task", (), info)


def refused() -> BaseException:
    try:
        redis.Redis(port=free_port(), socket_connect_timeout=2).ping()
    except redis.ConnectionError:
        return sys.exc_info()[1]
    pytest.fail("something answered on a free port")


def test_an_outage_is_one_line_a_minute_per_logger():
    outage, error = RedisOutage(), refused()
    first = record("channels_redis.pubsub", error)
    assert outage.filter(first) and first.exc_info is None
    assert first.getMessage().startswith("Unexpected exception in receive task: Error 111 connecting")
    assert first.getMessage().endswith("(Redis unreachable: said at most once a minute while it lasts)")
    assert not outage.filter(record("channels_redis.pubsub", error))  # the retry a second later
    assert outage.filter(record("daphne.server", error))  # another logger says it once too
    outage.said_at = {name: at - 61 for name, at in outage.said_at.items()}  # a minute on
    assert outage.filter(record("channels_redis.pubsub", error))


def test_an_error_raised_while_handling_an_outage_counts_as_one():
    try:
        try:
            raise refused()
        except redis.ConnectionError:
            raise RuntimeError("while cleaning up") from None  # context kept on __context__
    except RuntimeError as error:
        chained = error
    assert RedisOutage().filter(said := record("daphne.server", chained)) and said.exc_info is None


def test_other_errors_and_plain_lines_pass_untouched():
    outage = RedisOutage()
    for _ in range(2):
        kept = record("daphne.server", ValueError("a bug"))
        assert outage.filter(kept) and kept.exc_info is not None and kept.getMessage() == kept.msg
    assert outage.filter(record("daphne.server", None))
