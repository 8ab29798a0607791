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
from frontdesk.channels.respond_async import Receiver, RespondAsync  # noqa: E402
from frontdesk.realtime.routing import (  # noqa: E402
    visitor_websocket_urlpatterns,
    websocket_urlpatterns,
)

# The thread that stores webhooks answered before processing; `frontdesk serve` stops it last.
webhook_receiver = Receiver()

application = ProtocolTypeRouter(
    {
        # Webhooks sent with `Prefer: respond-async` are stored and answered 202 before Django's
        # request stack (frontdesk.channels.respond_async); everything else goes through Django.
        "http": BodySizeLimit(
            RespondAsync(django_asgi_app, webhook_receiver), settings.FRONTDESK_MAX_BODY_BYTES
        ),
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
