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
from django.urls import re_path  # noqa: E402

from frontdesk.bodylimit import BodySizeLimit  # noqa: E402
from frontdesk.realtime.routing import (  # noqa: E402
    visitor_websocket_urlpatterns,
    websocket_urlpatterns,
)

application = ProtocolTypeRouter(
    {
        "http": BodySizeLimit(django_asgi_app, settings.FRONTDESK_MAX_BODY_BYTES),
        "websocket": URLRouter(
            [
                # The widget's socket: no cookies, no session; it checks Origin per channel itself.
                *visitor_websocket_urlpatterns,
                # Origin must be one of ALLOWED_HOSTS: a page elsewhere cannot open an agent's socket.
                re_path(
                    r"",
                    AllowedHostsOriginValidator(
                        CookieMiddleware(SessionMiddleware(AuthMiddleware(URLRouter(websocket_urlpatterns))))
                    ),
                ),
            ]
        ),
    }
)
