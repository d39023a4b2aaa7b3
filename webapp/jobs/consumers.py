"""WebSocket consumers: transport only. Authenticate in connect, check team access, relay events.

Close codes: 4401 not logged in, 4404 no such job or team *for this user* (another team's job
looks exactly like a missing one, as in the pages and the API).
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from webapp.jobs import live

CLOSE_UNAUTHENTICATED = 4401
CLOSE_NOT_FOUND = 4404


class EventConsumer(AsyncJsonWebsocketConsumer):
    """Joins one group after an access check, sends the current state, then relays the group's events."""

    async def connect(self) -> None:
        await self.accept()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        found = await database_sync_to_async(self.subscription)(user)
        if found is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.group, first_events = found
        await self.channel_layer.group_add(self.group, self.channel_name)
        for event in first_events:
            await self.send_json(event)

    async def disconnect(self, code: int) -> None:
        if getattr(self, "group", None):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """Clients only listen."""

    async def paralab_event(self, message: dict[str, Any]) -> None:
        await self.send_json(message["event"])

    def subscription(self, user: Any) -> tuple[str, list[dict[str, Any]]] | None:
        raise NotImplementedError


class JobConsumer(EventConsumer):
    """/ws/jobs/<id>/: the job's state at once (a late joiner is up to date), then every event."""

    def subscription(self, user: Any) -> tuple[str, list[dict[str, Any]]] | None:
        return live.job_subscription(user=user, job_id=int(self.scope["url_route"]["kwargs"]["job_id"]))


class TeamConsumer(EventConsumer):
    """/ws/teams/<slug>/: the team's feed — jobs created, started, progressing and finished."""

    def subscription(self, user: Any) -> tuple[str, list[dict[str, Any]]] | None:
        return live.team_subscription(user=user, slug=self.scope["url_route"]["kwargs"]["slug"])
