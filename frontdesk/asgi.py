"""ASGI entry point: HTTP through Django, WebSockets through Channels (frontdesk.realtime.routing)."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frontdesk.settings")

from channels.routing import ProtocolTypeRouter, URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from channels.sessions import CookieMiddleware, SessionMiddleware
from django.core.asgi import get_asgi_application

django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddleware  # noqa: E402
from django.conf import settings  # noqa: E402

from frontdesk.bodylimit import BodySizeLimit  # noqa: E402
from frontdesk.realtime.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": BodySizeLimit(django_asgi_app, settings.FRONTDESK_MAX_BODY_BYTES),
        # Origin must be one of ALLOWED_HOSTS: a page elsewhere cannot open an agent's socket.
        "websocket": AllowedHostsOriginValidator(
            CookieMiddleware(SessionMiddleware(AuthMiddleware(URLRouter(websocket_urlpatterns))))
        ),
    }
)
