"""One subscriber per web process for each live event group, fanning the events out to its sockets in memory.

With one group member per socket, every event cost once per watcher twice over: channels_redis's
``group_send`` stores a message listing every member channel (the worker's publish grew 8.5× with 500
viewers of one job), and the web process woke one consumer task per socket per event through the layer's
receive buffer. Now the events travel on the pub/sub layer (settings.LIVE_EVENTS_LAYER): a publish is one
PUBLISH however many watch, each web process subscribes once per group through this relay, reads each event
once and hands it to each of its sockets (EventConsumer.paralab_event) with no channel-layer hop per socket.

The access notices of webapp/accounts/revocation.py still reach each socket's own channel on the default layer.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any, Protocol

from channels.layers import BaseChannelLayer, get_channel_layer
from django.conf import settings

log = logging.getLogger(__name__)


class Listener(Protocol):
    async def paralab_event(self, message: dict[str, Any]) -> None: ...


class Relay:
    """The relay of one event loop (a web process has one; a test may have several, one after another)."""

    def __init__(self, layer: BaseChannelLayer) -> None:
        self.layer = layer
        # Weakly held: a socket whose consumer died without leaving (its own channel's Redis went away
        # under it) is dropped once collected, and a group left with nobody is unsubscribed at its next event.
        self.members: dict[str, weakref.WeakSet[Listener]] = {}
        self.channel = ""
        self.reader: asyncio.Task[None] | None = None
        self.lock = asyncio.Lock()

    async def join(self, group: str, listener: Listener) -> None:
        async with self.lock:
            if self.reader is None:
                self.channel = await self.layer.new_channel()
                self.reader = asyncio.create_task(self.read(self.channel))
            members = self.members.setdefault(group, weakref.WeakSet())
            if not members:
                await self.layer.group_add(group, self.channel)
            members.add(listener)

    async def leave(self, group: str, listener: Listener) -> None:
        async with self.lock:
            members = self.members.get(group)
            if members is None or listener not in members:
                return
            members.discard(listener)
            if members:
                return
            try:
                await self.forget(group)
            finally:
                # Nobody left to read for: no task outlives the last socket. (A cancelled receive drops its
                # channel from the layer, so the next join starts with a new one.)
                if not self.members and self.reader is not None:
                    self.reader.cancel()
                    self.reader = None

    async def forget(self, group: str) -> None:
        """Unsubscribe from a group nobody here follows any more (called under the lock)."""
        del self.members[group]
        await self.layer.group_discard(group, self.channel)

    async def read(self, channel: str) -> None:
        while True:
            message = await self.layer.receive(channel)
            group = message.get("group", "")
            # A copy: a socket's send may let another connect or leave meanwhile.
            listeners = list(self.members.get(group, ()))
            if not listeners and group in self.members:
                async with self.lock:  # its sockets died without leaving, and were collected
                    if group in self.members and not self.members[group]:
                        await self.forget(group)
            for listener in listeners:
                try:
                    await listener.paralab_event(message)
                except Exception:  # a socket closing under us must not keep the event from the others
                    log.debug("a live socket could not take an event", exc_info=True)


_relays: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Relay] = weakref.WeakKeyDictionary()


def relay() -> Relay:
    """This event loop's relay, made on first use."""
    loop = asyncio.get_running_loop()
    found = _relays.get(loop)
    if found is None:
        found = _relays[loop] = Relay(get_channel_layer(settings.LIVE_EVENTS_LAYER))
    return found
