"""WebSocket URLs (mounted by frontdesk.asgi behind the origin check, sessions and auth)."""

from __future__ import annotations

from django.urls import path

from .consumers import AgentConsumer
from .visitor import VisitorConsumer

websocket_urlpatterns = [
    path("ws/t/<slug:slug>/", AgentConsumer.as_asgi()),
]

# The chat widget's socket: opened from the shop's own site, so not behind the ALLOWED_HOSTS origin
# check of the agents' socket; the consumer checks the Origin against the channel's allowed sites.
visitor_websocket_urlpatterns = [
    path("ws/chat/<str:public_id>/", VisitorConsumer.as_asgi()),
]
