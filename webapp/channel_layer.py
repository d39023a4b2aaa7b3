"""The default channel layer: channels_redis's, with a receive that a cancel always ends.

Each socket's consumer waits on its own channel in a task that Channels cancels when the socket goes.
redis-py sends each command inside ``asyncio.wait_for`` (whenever a socket timeout is set, as redis-py 8
always has), which on Python 3.11 loses a cancel that arrives as the send completes (CPython gh-86296,
fixed in 3.12): the receive went on into a 5 s BZPOPMIN, then another, and the consumer lived on,
holding a Redis connection, until daphne's application_close_timeout (10 s) cancelled it again. It hit
sockets refused at once (no login, a foreign origin), whose receive was still sending its first
commands: every one in channels' test communicator (10 s per test), and 1 of 40 refused at once on a
real daphne (tests/webapp/jobs/test_refused_sockets.py)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from channels_redis.core import RedisChannelLayer as _RedisChannelLayer

RECANCEL_EVERY = 0.05  # seconds between cancels of a receive that did not end on the first


class RedisChannelLayer(_RedisChannelLayer):
    async def receive(self, channel: str) -> Any:
        inner = asyncio.ensure_future(super().receive(channel))
        try:
            return await asyncio.shield(inner)
        except asyncio.CancelledError:
            # Cancelled again until it ends: a cancel lost in a send is not lost in the BZPOPMIN after it.
            # Another cancel of ours meanwhile (daphne's close timeout, shutdown) must not leave it running.
            while not inner.done():
                inner.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait([inner], timeout=RECANCEL_EVERY)
            if not inner.cancelled():
                inner.exception()  # what it ended with no longer matters: retrieved, so asyncio does not log it
            raise
