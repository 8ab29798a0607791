"""The API channel: a shop's own systems post customer messages; replies go back as signed webhooks.

Inbound: `POST /hooks/<channel public id>/` with a JSON body (see InboundBody) signed with the
channel's signing secret (frontdesk.channels.signing). The idempotency key (body field or
`Idempotency-Key` header) is the dedupe key: posting the same message twice creates one message.

Outbound: each agent reply is POSTed as JSON to the channel's webhook URL, signed the same way,
with `X-Frontdesk-Delivery` (stable across retries) so the shop can drop repeats.

The wire format is documented in docs/channels.md; keep the two in step.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import secrets
from typing import Any

import httpx
import pydantic
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from frontdesk.desk.lib.addresses import InvalidAddress, normalize_email, normalize_phone

from .. import safehttp
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
from ..signing import DEFAULT_TOLERANCE, SIGNATURE_HEADER, SignatureError, sign, verify

DELIVERY_HEADER = "X-Frontdesk-Delivery"
USER_AGENT = "Frontdesk-Webhook/1"
# Answers that mean "not now": retried with backoff. Every other 4xx is the shop refusing for good.
TRANSIENT_STATUSES = frozenset({408, 425, 429})


class Config(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")

    # Where replies are POSTed. HTTPS, except to this machine in development and tests.
    webhook_url: str = pydantic.Field(
        "",
        title=gettext_noop("Webhook URL for replies"),
        description=gettext_noop(
            "Agents' replies are POSTed here as signed JSON (see the API channel documentation). "
            "Use https://; without it, replies cannot be sent through this channel."
        ),
    )

    @pydantic.field_validator("webhook_url")
    @classmethod
    def _safe_url(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return value
        try:
            return safehttp.validate_url(value)
        except safehttp.UnsafeAddress as exc:
            raise ValueError(str(exc)) from None


class CustomerBody(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")

    external_id: str = pydantic.Field("", max_length=200)
    email: str = pydantic.Field("", max_length=320)
    phone: str = pydantic.Field("", max_length=40)
    name: str = pydantic.Field("", max_length=200)
    language: str = pydantic.Field("", max_length=10)
    attributes: dict[str, Any] = pydantic.Field(default_factory=dict, max_length=100)

    @pydantic.model_validator(mode="after")
    def _some_identity(self) -> CustomerBody:
        if not (self.external_id.strip() or self.email.strip() or self.phone.strip()):
            raise ValueError(_("Give at least one of external_id, email, phone"))
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
    text: str = ""
    subject: str = pydantic.Field("", max_length=300)
    thread_id: str = pydantic.Field("", max_length=200)
    conversation_number: int | None = pydantic.Field(None, ge=1)
    # With its offset ("2025-05-01T10:00:00+02:00"): a bare local time is ambiguous.
    sent_at: pydantic.AwareDatetime | None = None
    attachments: list[AttachmentBody] = pydantic.Field(default_factory=list)

    @pydantic.model_validator(mode="after")
    def _has_content(self) -> InboundBody:
        if not self.text.strip() and not self.attachments:
            raise ValueError(_("Give text or at least one attachment"))
        return self


def _field_errors(exc: pydantic.ValidationError) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "body"
        message = _("Unknown field") if err["type"] == "extra_forbidden" else err["msg"]
        message = message.removeprefix("Value error, ")
        fields.setdefault(key, []).append(message)
    return fields


def _invalid(
    message: str, fields: dict[str, list[str]], code: str = "invalid", status: int = 422
) -> InboundRejected:
    return InboundRejected(message, status=status, code=code, fields=fields)


def _decode_attachments(body: InboundBody) -> list[InboundAttachment]:
    """Decode base64 attachments, refusing too many or too large ones before decoding them."""
    limit = settings.FRONTDESK_MAX_ATTACHMENT_BYTES
    most = settings.FRONTDESK_MAX_ATTACHMENTS
    if len(body.attachments) > most:
        raise _invalid(
            ngettext("At most %(n)d attachment per message", "At most %(n)d attachments per message", most)
            % {"n": most},
            {
                "attachments": [
                    ngettext("At most %(n)d attachment", "At most %(n)d attachments", most) % {"n": most}
                ]
            },
            code="too_many_attachments",
        )
    decoded = []
    for i, a in enumerate(body.attachments):
        too_large = _invalid(
            ngettext(
                "Attachment %(name)s is larger than the limit of %(limit)d byte",
                "Attachment %(name)s is larger than the limit of %(limit)d bytes",
                limit,
            )
            % {"name": repr(a.filename), "limit": limit},
            {
                f"attachments.{i}.data_base64": [
                    ngettext("Larger than %(limit)d byte", "Larger than %(limit)d bytes", limit)
                    % {"limit": limit}
                ]
            },
            code="attachment_too_large",
            status=413,
        )
        # Four base64 characters carry three bytes: refuse by length before allocating the bytes.
        if len(a.data_base64) > 4 * math.ceil(limit / 3) + 4:
            raise too_large
        try:
            data = base64.b64decode(a.data_base64, validate=True)
        except (binascii.Error, ValueError):
            raise _invalid(
                _("Attachment %(name)s is not valid base64") % {"name": repr(a.filename)},
                {f"attachments.{i}.data_base64": [_("Not valid base64")]},
            ) from None
        if len(data) > limit:
            raise too_large
        decoded.append(InboundAttachment(filename=a.filename, content_type=a.content_type, data=data))
    return decoded


def _contact(channel: Any, customer: CustomerBody) -> InboundContact:
    """The customer, with email and phone checked here so the error names the body's field."""
    errors: dict[str, list[str]] = {}
    email = customer.email.strip()
    phone = customer.phone.strip()
    if email:
        try:
            email = normalize_email(email)
        except InvalidAddress as exc:
            errors["customer.email"] = [str(exc)]
    if phone:
        try:
            phone = normalize_phone(phone, channel.tenant.country or "PL")
        except InvalidAddress as exc:
            errors["customer.phone"] = [
                _("%(error)s; use the international format, e.g. +48601234567") % {"error": exc}
            ]
    if errors:
        raise _invalid(_("The customer's contact details are not valid"), errors)
    return InboundContact(
        name=customer.name.strip(),
        email=email,
        phone=phone,
        external_id=customer.external_id.strip(),
        language=customer.language.strip(),
        attributes=customer.attributes,
    )


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
                _("The channel has no signing secret; rotate its secrets"), status=409, code="no_secret"
            )
        # Freshness is judged at the time of receipt: a payload re-processed later still verifies.
        received = payload.received_at.timestamp() if payload.received_at else None
        try:
            verify(
                secret,
                payload.body,
                payload.headers.get(SIGNATURE_HEADER.lower(), ""),
                tolerance=DEFAULT_TOLERANCE,
                now=received,
            )
        except SignatureError as exc:
            raise InboundRejected(str(exc), status=401, code="bad_signature") from None
        media_type = payload.content_type.split(";")[0].strip().lower()
        if media_type != "application/json":
            raise InboundRejected(
                _("Send Content-Type: application/json"), status=415, code="unsupported_media_type"
            )
        try:
            data = json.loads(payload.body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InboundRejected(
                _("Malformed JSON: %(error)s") % {"error": exc}, status=400, code="malformed_json"
            ) from None
        if not isinstance(data, dict):
            raise InboundRejected(_("The body must be a JSON object"), status=400, code="malformed_json")
        try:
            body = InboundBody.model_validate(data)
        except pydantic.ValidationError as exc:
            raise _invalid(_("The message is not valid"), _field_errors(exc)) from None
        key = body.idempotency_key.strip() or payload.headers.get("idempotency-key", "").strip()[:200]
        if not key:
            raise _invalid(
                _(
                    "Give an idempotency_key (or an Idempotency-Key header) "
                    "so a retry never creates a duplicate"
                ),
                {"idempotency_key": [_("Field required")]},
            )
        most = settings.FRONTDESK_MAX_MESSAGE_CHARS
        if len(body.text) > most:
            raise _invalid(
                ngettext(
                    "The text is longer than %(n)d character",
                    "The text is longer than %(n)d characters",
                    most,
                )
                % {"n": most},
                {
                    "text": [
                        ngettext("At most %(n)d character", "At most %(n)d characters", most) % {"n": most}
                    ]
                },
                code="message_too_long",
            )
        contact = _contact(channel, body.customer)
        attachments = _decode_attachments(body)
        return [
            InboundMessage(
                dedupe_key=f"api:{key}",
                contact=contact,
                text=body.text,
                subject=body.subject.strip(),
                sent_at=body.sent_at,
                conversation_number=body.conversation_number,
                external_thread_id=body.thread_id.strip(),
                attachments=attachments,
                language=contact.language,
            )
        ]

    def webhook_body(self, message: OutboundMessage) -> bytes:
        """The JSON the shop receives for a reply (docs/channels.md, "The webhook the shop receives")."""
        attachments = []
        for a in message.attachments:
            with open(a["path"], "rb") as f:
                data = f.read()
            attachments.append(
                {
                    "filename": a["filename"],
                    "content_type": a["content_type"],
                    "size": a["size"],
                    "data_base64": base64.b64encode(data).decode(),
                }
            )
        return json.dumps(
            {
                "type": "message.created",
                "delivery_id": message.delivery_id,
                "message": {
                    "id": message.message_id,
                    "text": message.text,
                    "html": message.html,
                    "author": message.author_name,
                    "created_at": message.created_at.isoformat(),
                    "attachments": attachments,
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

    def send(self, channel: Any, message: OutboundMessage) -> str:
        try:
            url = self.config(channel).webhook_url
        except pydantic.ValidationError as exc:
            # Saved when allowed (e.g. a loopback address in development), not allowed any more.
            reason = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
            raise TransportError(
                f"The channel's webhook address is refused: {reason}", permanent=True, disable_channel=True
            ) from None
        secret = channel.secrets.get("signing_secret", "")
        if not url:
            raise TransportError(f"The channel {channel.name} has no webhook URL for replies", permanent=True)
        if not secret:
            raise TransportError(
                f"The channel {channel.name} has no signing secret; rotate its secrets",
                permanent=True,
                disable_channel=True,
            )
        body = self.webhook_body(message)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            # Signed at each attempt (a fresh timestamp); the delivery id stays the same.
            SIGNATURE_HEADER: sign(secret, body),
            DELIVERY_HEADER: str(message.delivery_id),
            "Idempotency-Key": f"delivery-{message.delivery_id}",
        }
        try:
            answer = safehttp.post(url, body, headers, settings.FRONTDESK_DELIVERY_TIMEOUT_SECONDS)
        except safehttp.UnsafeAddress as exc:
            raise TransportError(
                f"Refused to send to {url}: {exc}", permanent=True, disable_channel=True
            ) from None
        except safehttp.Unresolvable as exc:
            raise TransportError(str(exc)) from None
        except httpx.TimeoutException:
            raise TransportError(f"No answer from {url} within the timeout") from None
        except (httpx.HTTPError, OSError) as exc:
            raise TransportError(f"Could not reach {url}: {exc}") from None
        status = answer.status
        detail = f"HTTP {status}: {answer.text[:300]}".strip()
        if status == 410:
            raise TransportError(
                f"The shop's endpoint is gone ({detail})", permanent=True, disable_channel=True
            )
        if status in TRANSIENT_STATUSES or status >= 500:
            raise TransportError(detail, retry_after=_retry_after(answer.headers.get("retry-after", "")))
        if 300 <= status < 400:
            raise TransportError(
                f"{detail} (redirects are not followed; use the final address)", permanent=True
            )
        if status >= 400 or status < 200:
            raise TransportError(detail, permanent=True)
        try:
            answer_body = json.loads(answer.text) if answer.text.strip() else {}
            provider_id = str(answer_body.get("id") or "") if isinstance(answer_body, dict) else ""
        except ValueError:
            provider_id = ""
        return provider_id[:300] or f"delivery-{message.delivery_id}"

    def public_urls(self, channel: Any) -> dict[str, str]:
        return {"inbound_url": f"{settings.FRONTDESK_BASE_URL}/hooks/{channel.public_id}/"}


def _retry_after(value: str) -> float | None:
    """Seconds from a Retry-After header given in seconds (HTTP dates are rare from APIs: ignored)."""
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if 0 < seconds <= 6 * 3600 else None
