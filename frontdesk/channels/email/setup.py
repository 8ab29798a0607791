"""What an admin needs to point mail at the built-in SMTP receiver: its public host and port.

Read from FRONTDESK_SMTP_PUBLIC_HOST / FRONTDESK_SMTP_PUBLIC_PORT when the operator set them (the
receiver usually sits behind a port forward or a load balancer, so its listening address says
nothing); otherwise the host of FRONTDESK_BASE_URL and port 25, where MX delivery arrives.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class ReceiverEndpoint:
    host: str
    port: int
    # False when derived from FRONTDESK_BASE_URL: the operator may not have set a receiver up.
    configured: bool


def smtp_receiver_endpoint() -> ReceiverEndpoint:
    host = str(getattr(settings, "FRONTDESK_SMTP_PUBLIC_HOST", "") or "").strip()
    port = getattr(settings, "FRONTDESK_SMTP_PUBLIC_PORT", None)
    configured = bool(host)
    if not host:
        base = str(getattr(settings, "FRONTDESK_BASE_URL", "") or "")
        host = base.split("//", 1)[-1].split("/", 1)[0].rsplit("@", 1)[-1]
        host = host.split("]", 1)[0] + "]" if host.startswith("[") else host.split(":", 1)[0]
    try:
        port_number = int(port) if port not in (None, "") else 25
    except (TypeError, ValueError):
        port_number = 25
    return ReceiverEndpoint(host=host or "localhost", port=port_number, configured=configured)
