"""The API channel: a shop's own systems post customer messages; replies go back as signed webhooks.

Inbound: `POST /hooks/<channel public id>/` with a JSON body (see InboundBody) signed with the
channel's signing secret (frontdesk.channels.signing). The idempotency key (body field or
`Idempotency-Key` header) is the dedupe key: posting the same message twice creates one message.

Outbound: each agent reply is POSTed as JSON to the channel's webhook URL, signed the same way,
with `X-Frontdesk-Delivery` (stable across retries) so the shop can drop repeats.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import ipaddress
import json
import secrets
from typing import Any
from urllib.parse import urlsplit

import httpx
import pydantic
from django.conf import settings

from ..base import (
    Capabilities,
    ChannelAdapter,
    InboundAttachment,
    InboundContact,
    InboundMessage,
    InboundRejected,
    OutboundMessage,
    RawPayload,
    TransportError,
)
from ..signing import SIGNATURE_HEADER, SignatureError, sign, verify


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class Config(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")

    # Where replies are POSTed. HTTPS, except to this machine (development and tests).
    webhook_url: str = ""

    @pydantic.field_validator("webhook_url")
    @classmethod
    def _https(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("Use a full https:// address")
        if parts.scheme == "http" and not _is_loopback(parts.hostname):
            raise ValueError("Use https:// (plain http only to 127.0.0.1)")
        return value


class CustomerBody(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")

    external_id: str = pydantic.Field("", max_length=200)
    email: str = pydantic.Field("", max_length=320)
    phone: str = pydantic.Field("", max_length=40)
    name: str = pydantic.Field("", max_length=200)
    language: str = pydantic.Field("", max_length=10)
    attributes: dict[str, Any] = pydantic.Field(default_factory=dict)

    @pydantic.model_validator(mode="after")
    def _some_identity(self) -> CustomerBody:
        if not (self.external_id or self.email or self.phone):
            raise ValueError("Give at least one of external_id, email, phone")
        return self


class AttachmentBody(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")

    filename: str = pydantic.Field(min_length=1, max_length=255)
    content_type: str = pydantic.Field("application/octet-stream", max_length=150)
    data_base64: str


class InboundBody(pydantic.BaseModel):
    """What the shop posts. Unknown fields are refused so typos do not pass silently."""

    model_config = pydantic.ConfigDict(extra="forbid")

    idempotency_key: str = pydantic.Field("", max_length=200)
    customer: CustomerBody
    text: str = pydantic.Field("", max_length=100_000)
    subject: str = pydantic.Field("", max_length=300)
    thread_id: str = pydantic.Field("", max_length=200)
    conversation_number: int | None = pydantic.Field(None, ge=1)
    sent_at: dt.datetime | None = None
    attachments: list[AttachmentBody] = pydantic.Field(default_factory=list)

    @pydantic.model_validator(mode="after")
    def _has_content(self) -> InboundBody:
        if not self.text.strip() and not self.attachments:
            raise ValueError("Give text or at least one attachment")
        return self


def _field_errors(exc: pydantic.ValidationError) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "body"
        fields.setdefault(key, []).append(err["msg"])
    return fields


class ApiChannel(ChannelAdapter):
    kind = "api"
    label = "API"
    Config = Config
    capabilities = Capabilities(recipient_kind="external", thread_by_customer=True)
    secret_fields = ("signing_secret",)

    def generate_secrets(self) -> dict[str, str]:
        return {"signing_secret": "whsec_" + secrets.token_urlsafe(32)}

    def parse_inbound(self, channel: Any, payload: RawPayload) -> list[InboundMessage]:
        secret = channel.secrets.get("signing_secret", "")
        if not secret:
            raise InboundRejected(
                "The channel has no signing secret; rotate its secrets", status=409, code="no_secret"
            )
        try:
            verify(secret, payload.body, payload.headers.get(SIGNATURE_HEADER.lower(), ""))
        except SignatureError as exc:
            raise InboundRejected(str(exc), status=401, code="bad_signature") from None
        if not payload.content_type.lower().startswith("application/json"):
            raise InboundRejected(
                "Send Content-Type: application/json", status=415, code="unsupported_media_type"
            )
        try:
            data = json.loads(payload.body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InboundRejected(f"Malformed JSON: {exc}", status=400, code="malformed_json") from None
        try:
            body = InboundBody.model_validate(data)
        except pydantic.ValidationError as exc:
            raise InboundRejected(
                "The message is not valid", status=422, code="invalid", fields=_field_errors(exc)
            ) from None
        key = body.idempotency_key or payload.headers.get("idempotency-key", "")[:200]
        if not key:
            raise InboundRejected(
                "Give an idempotency_key (or an Idempotency-Key header) so a retry never creates a duplicate",
                status=422,
                code="invalid",
                fields={"idempotency_key": ["Field required"]},
            )
        attachments = []
        for i, a in enumerate(body.attachments):
            try:
                data_bytes = base64.b64decode(a.data_base64, validate=True)
            except (binascii.Error, ValueError):
                raise InboundRejected(
                    "An attachment is not valid base64",
                    status=422,
                    code="invalid",
                    fields={f"attachments.{i}.data_base64": ["Not valid base64"]},
                ) from None
            attachments.append(
                InboundAttachment(filename=a.filename, content_type=a.content_type, data=data_bytes)
            )
        c = body.customer
        return [
            InboundMessage(
                dedupe_key=f"api:{key}",
                contact=InboundContact(
                    name=c.name,
                    email=c.email,
                    phone=c.phone,
                    external_id=c.external_id,
                    language=c.language,
                    attributes=c.attributes,
                ),
                text=body.text,
                subject=body.subject,
                sent_at=body.sent_at,
                conversation_number=body.conversation_number,
                external_thread_id=body.thread_id,
                attachments=attachments,
                language=c.language,
            )
        ]

    def send(self, channel: Any, message: OutboundMessage) -> str:
        url = self.config(channel).webhook_url
        secret = channel.secrets.get("signing_secret", "")
        if not url:
            raise TransportError(f"The channel {channel.name} has no webhook URL for replies", permanent=True)
        body = json.dumps(
            {
                "type": "message.created",
                "delivery_id": message.delivery_id,
                "message": {
                    "id": message.message_id,
                    "text": message.text,
                    "author": message.author_name,
                    "created_at": message.created_at.isoformat(),
                    "attachments": [
                        {"filename": a["filename"], "content_type": a["content_type"], "size": a["size"]}
                        for a in message.attachments
                    ],
                },
                "conversation": {
                    "number": message.conversation_number,
                    "subject": message.conversation_subject,
                    "thread_id": message.external_thread_id,
                },
                "customer": {"external_id": message.recipient, "name": message.customer_name},
            },
            ensure_ascii=False,
        ).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Frontdesk-Webhook/1",
            SIGNATURE_HEADER: sign(secret, body),
            "X-Frontdesk-Delivery": str(message.delivery_id),
            "Idempotency-Key": f"delivery-{message.delivery_id}",
        }
        try:
            response = httpx.post(
                url,
                content=body,
                headers=headers,
                timeout=settings.FRONTDESK_DELIVERY_TIMEOUT_SECONDS,
                follow_redirects=False,
            )
        except httpx.TimeoutException:
            raise TransportError(f"No answer from {url} within the timeout") from None
        except httpx.HTTPError as exc:
            raise TransportError(f"Could not reach {url}: {exc}") from None
        detail = f"HTTP {response.status_code}: {response.text[:300]}"
        if response.status_code == 410:
            raise TransportError(
                f"The shop's endpoint is gone ({detail})", permanent=True, disable_channel=True
            )
        if response.status_code in (408, 425, 429) or response.status_code >= 500:
            raise TransportError(detail)
        if response.status_code >= 300:
            raise TransportError(detail, permanent=True)
        try:
            provider_id = str(response.json().get("id") or "")
        except (ValueError, AttributeError):
            provider_id = ""
        return provider_id or f"delivery-{message.delivery_id}"

    def public_urls(self, channel: Any) -> dict[str, str]:
        return {"inbound_url": f"{settings.FRONTDESK_BASE_URL}/hooks/{channel.public_id}/"}
