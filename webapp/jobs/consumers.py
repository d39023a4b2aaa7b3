"""WebSocket consumers: transport only. Authenticate in connect, check team access, relay events.

Close codes: 4401 not logged in (or logged out since), 4404 no such job or team *for this user*
(another team's job looks exactly like a missing one, as in the pages and the API), 4403 access lost
while connected (removed from the team).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from importlib import import_module
from typing import Any

from channels.auth import get_user
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from webapp.accounts.revocation import session_group, user_group
from webapp.jobs import live
from webapp.jobs.relay import relay

log = logging.getLogger(__name__)
SessionStore = import_module(settings.SESSION_ENGINE).SessionStore

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
STATE_EVERY = 1.0  # seconds between two states sent to one socket on request


class EventConsumer(AsyncJsonWebsocketConsumer):
    """Joins one group after an access check, sends the current state, then relays the group's events.

    The event group is joined through the process's relay (webapp/jobs/relay.py): one member of the group
    per web process, however many sockets watch. The user's and the session's groups, which carry the
    access notices, are joined by this socket's own channel.

    Access is checked again, never per event, when word comes that it may be gone (a message to the
    user's or the session's group, webapp/accounts/revocation.py) and every PARALAB_LIVE_RECHECK_SECONDS.
    """

    joined: list[str] = []
    group = ""  # the event group, once joined through the relay
    revoked = False
    rechecker: asyncio.Task | None = None

    async def connect(self) -> None:
        await self.accept()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user_id = user.pk
        self.session_key = self.scope["session"].session_key
        # Joined before the access check, so a change committed after that check is heard of.
        await self.join(user_group(user.pk), session_group(self.session_key))
        found = await database_sync_to_async(self.subscription)(user)
        if found is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        group, first_events = found
        await relay().join(group, self)
        self.group = group
        self.rechecker = asyncio.create_task(self.recheck_periodically())
        for event in first_events:
            await self.send_json(event)

    async def join(self, *groups: str) -> None:
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.joined = [*self.joined, *groups]

    async def leave(self) -> None:
        group, self.group = self.group, ""
        joined, self.joined = self.joined, []
        try:
            if group:
                await relay().leave(group, self)
        finally:  # this socket's own groups are left even if Redis refused the relay's unsubscribe
            for own in joined:
                await self.channel_layer.group_discard(own, self.channel_name)

    async def disconnect(self, code: int) -> None:
        if self.rechecker is not None:
            self.rechecker.cancel()
        await self.leave()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        """Clients listen; the one thing they may say is ``{"type": "state"}``: "I saw a gap, send it all"."""
        if self.revoked:
            return
        try:
            content = json.loads(text_data or "")
        except ValueError:
            return  # not ours to answer, and not worth a closed socket
        if not isinstance(content, dict) or content.get("type") != "state":
            return
        # At most one state per STATE_EVERY seconds per socket: a state is a database read.
        now = time.monotonic()
        if now - getattr(self, "state_sent_at", -STATE_EVERY) < STATE_EVERY:
            return
        self.state_sent_at = now
        user = self.scope.get("user")
        found = await database_sync_to_async(self.subscription)(user)
        if found is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        for event in found[1]:
            await self.send_json(event)

    @classmethod
    async def encode_json(cls, content: Any) -> str:
        # Compact: events are measured against EVENT_BYTES in this encoding (webapp/jobs/events.py).
        return json.dumps(content, separators=(",", ":"))

    async def paralab_event(self, message: dict[str, Any]) -> None:
        """An event of the group, from the process's relay (called directly: no channel-layer dispatch)."""
        if self.revoked:  # events already queued when access was lost are dropped
            return
        # Encoded once per process: the relay hands the same message to every socket it serves here.
        text = message.get("text")
        if text is None:
            text = message["text"] = await self.encode_json(message["event"])
        await self.send(text_data=text)

    async def access_changed(self, message: dict[str, Any]) -> None:
        """The user, or one of their memberships, changed: still logged in, still in the team?"""
        await self.recheck()

    async def session_ended(self, message: dict[str, Any]) -> None:
        """This socket's session logged out. Said before Django deletes the session, so no re-check."""
        await self.revoke(CLOSE_UNAUTHENTICATED)

    async def recheck(self) -> None:
        # The session read afresh (the scope's copy is what connect saw), through the very check that
        # authenticated the socket: the session exists, its user is active, its password is unchanged.
        user = await get_user({"session": SessionStore(self.session_key)})
        if not user.is_authenticated or user.pk != self.user_id:
            await self.revoke(CLOSE_UNAUTHENTICATED)
        elif not await database_sync_to_async(self.subscription_holds)(user):
            await self.revoke(CLOSE_FORBIDDEN)

    async def recheck_periodically(self) -> None:
        # The safety net for changes that send no word: a session that expires, a QuerySet.update() or SQL
        # run by hand (no save signals), a notice lost while Redis was away. A few small queries per socket
        # per period, spread ±25 % so sockets opened together do not all ask at once.
        while not self.revoked:
            await asyncio.sleep(settings.PARALAB_LIVE_RECHECK_SECONDS * random.uniform(0.75, 1.25))
            try:
                await self.recheck()
            except Exception:  # the database away for a moment: keep the socket, ask again next round
                log.warning("could not re-check the access of a live socket", exc_info=True)

    async def revoke(self, code: int) -> None:
        if self.revoked:
            return
        self.revoked = True
        await self.leave()
        await self.close(code=code)

    def subscription(self, user: Any) -> tuple[str, list[dict[str, Any]]] | None:
        raise NotImplementedError

    def subscription_holds(self, user: Any) -> bool:
        """Whether ``user`` may still follow this channel: the subscription's check, without its events."""
        raise NotImplementedError


class JobConsumer(EventConsumer):
    """/ws/jobs/<id>/: the job's state at once (a late joiner is up to date), then every event."""

    def subscription(self, user: Any) -> tuple[str, list[dict[str, Any]]] | None:
        return live.job_subscription(user=user, job_id=int(self.scope["url_route"]["kwargs"]["job_id"]))

    def subscription_holds(self, user: Any) -> bool:
        return live.job_visible(user=user, job_id=int(self.scope["url_route"]["kwargs"]["job_id"]))


class TeamConsumer(EventConsumer):
    """/ws/teams/<slug>/: the team's feed — jobs created, started, progressing and finished."""

    def subscription(self, user: Any) -> tuple[str, list[dict[str, Any]]] | None:
        return live.team_subscription(user=user, slug=self.scope["url_route"]["kwargs"]["slug"])

    def subscription_holds(self, user: Any) -> bool:
        return live.team_visible(user=user, slug=self.scope["url_route"]["kwargs"]["slug"])
