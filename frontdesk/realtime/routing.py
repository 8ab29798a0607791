"""WebSocket URLs (mounted by frontdesk.asgi behind the origin check, sessions and auth)."""

from __future__ import annotations

from django.urls import path

from .consumers import AgentConsumer

websocket_urlpatterns = [
    path("ws/t/<slug:slug>/", AgentConsumer.as_asgi()),
]
