"""WebSocket routes."""

from django.urls import path

from webapp.jobs.consumers import JobConsumer, TeamConsumer

websocket_urlpatterns = [
    path("ws/jobs/<int:job_id>/", JobConsumer.as_asgi()),
    path("ws/teams/<slug:slug>/", TeamConsumer.as_asgi()),
]
