"""Sending to a Channels group from sync code (the worker, services, signal receivers) through one event
loop thread per process.

``async_to_sync(group_send)`` makes a new event loop, and so a new Redis connection, for every call:
3.65 ms p50 per event against 0.18 ms on a loop that stays (measured by make bench-live). Calls wait
for their send, so messages keep their order, and never longer than SEND_TIMEOUT.
"""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any

from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import get_channel_layer


class Publisher:
    """One event loop thread per process, started on first use (and again in a forked child)."""

    SEND_TIMEOUT = 10.0  # seconds: a Redis that stopped answering costs a job this, never a hang

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid = 0

    def send(self, group: str, message: dict[str, Any], layer: str) -> None:
        sending = get_channel_layer(layer).group_send(group, message)
        future = asyncio.run_coroutine_threadsafe(sending, self._running_loop())
        future.result(self.SEND_TIMEOUT)

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._pid != os.getpid():  # a forked child has no loop thread: start its own
                self._loop, self._pid = asyncio.new_event_loop(), os.getpid()
                threading.Thread(target=self._loop.run_forever, name="paralab-publisher", daemon=True).start()
            return self._loop


_publisher = Publisher()


def group_send(group: str, message: dict[str, Any], layer: str = DEFAULT_CHANNEL_LAYER) -> None:
    """Send ``message`` to ``group`` of the channel layer ``layer`` (an alias of settings.CHANNEL_LAYERS);
    raises what the layer raises (callers decide whether that matters)."""
    _publisher.send(group, message, layer)
