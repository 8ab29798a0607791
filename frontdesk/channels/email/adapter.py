"""The email channel's adapter: thin, delegating to parse/inbound (receiving) and outbound (sending)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_noop

from ..base import Capabilities, ChannelAdapter, InboundMessage, OutboundMessage, RawPayload
from .config import SECRET_FIELDS, Config


class EmailChannel(ChannelAdapter):
    kind = "email"
    label = gettext_noop("Email")
    Config = Config
    capabilities = Capabilities(recipient_kind="email", thread_by_customer=False)
    secret_fields = SECRET_FIELDS

    def inbound_address(self, config: dict[str, Any]) -> str:
        return str(config.get("address", "")).lower()

    def parse_inbound(self, channel: Any, payload: RawPayload) -> list[InboundMessage]:
        """`payload.body` is one raw RFC 5322 message, exactly as received."""
        from .inbound import inbound_message

        return [inbound_message(channel, payload)]

    def send(self, channel: Any, message: OutboundMessage) -> str:
        from .outbound import send_reply

        return send_reply(channel, message)

    def public_urls(self, channel: Any) -> dict[str, str]:
        from .setup import smtp_receiver_endpoint

        endpoint = smtp_receiver_endpoint()
        return {"smtp_receiver": f"{endpoint.host}:{endpoint.port}"}
