"""WebSocket routes."""

from django.urls import path

from webapp import converters  # noqa: F401  (registers <id:…>)
from webapp.jobs.consumers import JobConsumer, TeamConsumer

websocket_urlpatterns = [
    path("ws/jobs/<id:job_id>/", JobConsumer.as_asgi()),
    path("ws/teams/<slug:slug>/", TeamConsumer.as_asgi()),
]
