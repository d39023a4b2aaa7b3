"""While Redis is away, one line a minute per logger, not a traceback a second.

channels_redis's pub/sub reader (the live relay's subscriber, webapp/jobs/relay.py) retries every second
while Redis is down and logs each failure with its ~30-line traceback; daphne logs one more for every
live socket the outage closes (the page reconnects; access is checked again on connect). An outage is
worth saying, once: the rest is noise that buries what else went wrong. Other errors pass untouched.
"""

from __future__ import annotations

import logging
import time

import redis.exceptions

EVERY = 60.0  # seconds between two lines about one outage, per logger
OUTAGE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, ConnectionError)


def _outage(error: BaseException | None) -> BaseException | None:
    """The Redis connection error that ``error`` is, or was raised from or while handling, if any."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, OUTAGE):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


class RedisOutage(logging.Filter):
    """A log filter (settings.LOGGING) for the loggers that report every failed attempt to reach Redis."""

    def __init__(self, every: float = EVERY) -> None:
        super().__init__()
        self.every = every
        self.said_at: dict[str, float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        error = _outage(record.exc_info[1] if record.exc_info else None)
        if error is None:
            return True
        now = time.monotonic()
        if now - self.said_at.get(record.name, -self.every) < self.every:
            return False
        self.said_at[record.name] = now
        said = record.getMessage()
        record.msg = "%s (Redis unreachable: said at most once a minute while it lasts)"
        record.args = (said if str(error) in said else f"{said}: {error}",)
        record.exc_info = record.exc_text = None
        return True
