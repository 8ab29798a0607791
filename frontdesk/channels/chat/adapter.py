"""Live chat on the shop's site: the widget (static/chat/widget.js) talks to the endpoints in
views.py and to the visitor WebSocket (realtime/visitor.py). See docs/chat.md.

The adapter itself is small: what a visitor sends is authenticated by the endpoint (the visitor's
token) and stored as a RawInbound JSON document that names the visitor; `parse_inbound` turns it
into an InboundMessage. Sending needs no provider: a reply is a committed Message, pushed to the
visitor's sockets when it commits (the doorbell in realtime/publish.py) and fetched by polling
widgets; `send` only confirms it.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import json
import re
import secrets
from typing import Any, Literal

import pydantic
from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from ..base import (
    Capabilities,
    ChannelAdapter,
    InboundAttachment,
    InboundContact,
    InboundMessage,
    InboundRejected,
    OutboundMessage,
    RawPayload,
)
from ..form.adapter import _origin

# A chat message is a chat message: a visitor pasting a novel is refused with a clear error.
MAX_TEXT_CHARS = 5000
PRECHAT = Literal["off", "optional", "required"]
DEFAULT_UPLOAD_TYPES = [
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
    "text/plain",
]
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_.:-]{8,64}$")
# Set on the raw payload by the chat endpoints (actions.chat.do_visitor_message): proof that the
# payload was built by this server for an authenticated visitor, not posted to the channel's
# generic webhook address by someone who read the public id in the shop's snippet.
SIGNATURE_HEADER = "x-frontdesk-chat-signature"


class Invitation(pydantic.BaseModel):
    """A proactive invitation, shown by the widget when its trigger fires (docs/chat.md)."""

    model_config = pydantic.ConfigDict(extra="forbid")

    id: str = pydantic.Field(pattern=r"^[a-z0-9_-]{1,40}$")
    trigger: Literal["time_on_page", "cart", "visit", "exit_intent"]
    # Glob matched against the page address (* = anything): "*/cart*", "*/checkout*".
    url_pattern: str = pydantic.Field("*", max_length=300)
    seconds: int = pydantic.Field(30, ge=0, le=3600)
    # For "visit": from which visit of the same browser on (2 = returning visitors).
    visit: int = pydantic.Field(0, ge=0, le=1000)
    # The invitation's text per language ({"pl": "…", "en": "…"}); the first is the fallback.
    text: dict[str, str] = pydantic.Field(min_length=1)

    @pydantic.field_validator("text")
    @classmethod
    def _texts(cls, value: dict[str, str]) -> dict[str, str]:
        cleaned = {k.strip().lower()[:10]: v.strip()[:500] for k, v in value.items() if v.strip()}
        if not cleaned:
            raise ValueError(_("Give the invitation's text in at least one language"))
        return cleaned


class Config(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")

    title: str = pydantic.Field(
        "",
        max_length=100,
        title=gettext_noop("Title"),
        description=gettext_noop("At the top of the chat window; the shop's name when empty."),
    )
    allowed_origins: list[str] = pydantic.Field(
        default_factory=list,
        max_length=20,
        title=gettext_noop("Allowed sites"),
        description=gettext_noop(
            "Addresses such as https://shop.example where the widget may run; with none, any site."
        ),
    )
    color: str = pydantic.Field(
        "#0b6bcb",
        pattern=r"^#[0-9a-fA-F]{6}$",
        title=gettext_noop("Colour"),
        description=gettext_noop("Of the launcher and the window's header, e.g. #0b6bcb."),
    )
    position: Literal["right", "left"] = pydantic.Field("right", title=gettext_noop("Position"))
    greeting: dict[str, str] = pydantic.Field(
        default_factory=dict,
        title=gettext_noop("Greeting"),
        description=gettext_noop("The first words a visitor reads when opening the chat."),
    )
    launcher_text: dict[str, str] = pydantic.Field(
        default_factory=dict,
        title=gettext_noop("Launcher text"),
        description=gettext_noop("Beside the launcher button; none when empty."),
    )
    prechat_name: PRECHAT = pydantic.Field("optional", title=gettext_noop("Ask for the name"))
    prechat_email: PRECHAT = pydantic.Field("optional", title=gettext_noop("Ask for the email address"))
    prechat_phone: PRECHAT = pydantic.Field("off", title=gettext_noop("Ask for the phone number"))
    offer_email: bool = pydantic.Field(
        True,
        title=gettext_noop("Offer answers by email"),
        description=gettext_noop("When nobody is available (needs an email channel)."),
    )
    offer_call: bool = pydantic.Field(
        True,
        title=gettext_noop("Offer a call back"),
        description=gettext_noop("When nobody is available: the visitor leaves a number and a time."),
    )
    reoffer_seconds: int = pydantic.Field(
        60,
        ge=15,
        le=3600,
        title=gettext_noop("Offer to another agent after (seconds)"),
        description=gettext_noop("A new chat nobody answered in this time goes to the next available agent."),
    )
    max_upload_mb: int = pydantic.Field(10, ge=1, le=25, title=gettext_noop("Largest file (MB)"))
    upload_types: list[str] = pydantic.Field(
        default_factory=lambda: list(DEFAULT_UPLOAD_TYPES),
        max_length=50,
        title=gettext_noop("File types visitors may send"),
        description=gettext_noop("Media types such as image/png or image/* ; none: no files."),
    )
    invitations: list[Invitation] = pydantic.Field(
        default_factory=list,
        max_length=20,
        title=gettext_noop("Invitations"),
        description=gettext_noop(
            'Proactive invitations, e.g. [{"id": "cart", "trigger": "cart", "url_pattern": "*/cart*", '
            '"seconds": 20, "text": {"en": "Questions about your order?"}}]. Triggers: time_on_page, '
            "cart, visit, exit_intent."
        ),
    )

    widget_texts: dict[str, dict[str, str]] = pydantic.Field(
        default_factory=dict,
        title=gettext_noop("Widget texts"),
        description=gettext_noop(
            'The widget\'s own words per language, to reword them or add a language: {"de": {"send": '
            '"Senden", "placeholder": "Ihre Nachricht…"}}. The keys are listed in docs/chat.md.'
        ),
    )

    @pydantic.field_validator("widget_texts")
    @classmethod
    def _widget_texts(cls, value: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        cleaned: dict[str, dict[str, str]] = {}
        for language, texts in value.items():
            code = language.strip().lower()[:10]
            if not re.fullmatch(r"[a-z]{2,3}(-[a-z0-9]{2,8})?", code):
                raise ValueError(
                    _("%(value)s is not a language code like de or pt-br") % {"value": repr(language)}
                )
            cleaned[code] = {str(k)[:60]: str(v)[:500] for k, v in list(texts.items())[:200]}
        return cleaned

    @pydantic.field_validator("allowed_origins")
    @classmethod
    def _origins(cls, values: list[str]) -> list[str]:
        return list(dict.fromkeys(_origin(v) for v in values if v.strip()))

    @pydantic.field_validator("greeting", "launcher_text")
    @classmethod
    def _per_language(cls, value: dict[str, str]) -> dict[str, str]:
        return {k.strip().lower()[:10]: v.strip()[:500] for k, v in value.items() if v.strip()}

    @pydantic.field_validator("upload_types")
    @classmethod
    def _types(cls, values: list[str]) -> list[str]:
        for value in values:
            if not re.fullmatch(r"[a-z0-9.+-]+/(\*|[a-z0-9.+-]+)", value.strip().lower()):
                raise ValueError(_("%(value)s is not a media type like image/png") % {"value": repr(value)})
        return list(dict.fromkeys(v.strip().lower() for v in values))

    @property
    def max_upload_bytes(self) -> int:
        return min(self.max_upload_mb * 1024 * 1024, settings.FRONTDESK_MAX_ATTACHMENT_BYTES)

    def allows_origin(self, origin: str) -> bool:
        """The widget runs on the shop's sites, and on this installation's own try-out page."""
        origin = origin.rstrip("/").lower()
        own = settings.FRONTDESK_BASE_URL.rstrip("/").lower()
        return not self.allowed_origins or origin in self.allowed_origins or origin == own

    def allows_type(self, content_type: str) -> bool:
        content_type = content_type.split(";")[0].strip().lower()
        return any(fnmatch.fnmatchcase(content_type, pattern) for pattern in self.upload_types)


def sign_payload(channel: Any, body: bytes, secret: str | None = None) -> str:
    """The server's own signature of a visitor's message payload (never leaves the server)."""
    salt = f"frontdesk.chat.inbound:{channel.public_id}"
    return salted_hmac(salt, body, secret=secret, algorithm="sha256").hexdigest()


def _signed_here(channel: Any, payload: RawPayload) -> bool:
    given = str(payload.headers.get(SIGNATURE_HEADER, ""))
    secrets_ = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return bool(given) and any(
        constant_time_compare(given, sign_payload(channel, payload.body, secret)) for secret in secrets_
    )


def valid_client_id(value: Any) -> bool:
    return isinstance(value, str) and bool(_CLIENT_ID.match(value))


class ChatChannel(ChannelAdapter):
    kind = "chat"
    label = gettext_noop("Live chat")
    Config = Config
    capabilities = Capabilities(
        recipient_kind="visitor", thread_by_customer=True, max_length=MAX_TEXT_CHARS, live=True
    )
    secret_fields = ("identity_secret",)

    def generate_secrets(self) -> dict[str, str]:
        # The shop signs its logged-in customers' ids with this (identity verification).
        return {"identity_secret": secrets.token_hex(32)}

    def parse_inbound(self, channel: Any, payload: RawPayload) -> list[InboundMessage]:
        """A visitor's message as stored by the chat endpoint (already authenticated there):
        {"visitor", "client_id", "text", "conversation", "contact", "invitation", "attachments"}."""
        if not _signed_here(channel, payload):
            raise InboundRejected(
                _("Chat messages are accepted only from the chat widget."), status=403, code="forbidden"
            )
        try:
            data = json.loads(payload.body)
        except ValueError:
            raise InboundRejected(_("The message is not valid JSON."), code="malformed_json") from None
        if not isinstance(data, dict) or not isinstance(data.get("visitor"), str):
            raise InboundRejected(_("The message names no visitor."), code="invalid")
        if not valid_client_id(data.get("client_id")):
            raise InboundRejected(
                _("client_id must be 8 to 64 letters, digits or _.:-"),
                code="invalid",
                fields={"client_id": [_("Invalid.")]},
            )
        text = data.get("text") or ""
        if not isinstance(text, str):
            raise InboundRejected(
                _("text must be a string."), code="invalid", fields={"text": [_("Invalid.")]}
            )
        text = text.replace("\r\n", "\n").strip()
        if len(text) > MAX_TEXT_CHARS:
            raise InboundRejected(
                _("A chat message has at most %(n)d characters.") % {"n": MAX_TEXT_CHARS},
                status=413,
                code="too_long",
                fields={"text": [_("Too long.")]},
            )
        attachments = [_attachment(a) for a in data.get("attachments") or []]
        if not text and not attachments:
            raise InboundRejected(_("The message is empty."), code="empty", fields={"text": [_("Required.")]})
        contact_data = data.get("contact") or {}
        contact = InboundContact(
            name=str(contact_data.get("name") or "")[:200],
            # Only what the shop vouched for (identity verification) identifies the customer; what a
            # visitor typed stays a claim on the visitor (see actions.chat).
            email=str(contact_data.get("verified_email") or ""),
            external_id=str(contact_data.get("verified_id") or ""),
            language=str(data.get("language") or "")[:10],
            identities=[("visitor", data["visitor"])],
        )
        number = data.get("conversation")
        invitation = data.get("invitation_text")
        return [
            InboundMessage(
                dedupe_key=f"{data['visitor']}:{data['client_id']}",
                contact=contact,
                text=text,
                conversation_number=number if isinstance(number, int) and number > 0 else None,
                attachments=attachments,
                language=str(data.get("language") or "")[:10],
                sent_at=payload.received_at,
                prompt=invitation[:500] if isinstance(invitation, str) else "",
                metadata={"page": data.get("page") or {}},
            )
        ]

    def send(self, channel: Any, message: OutboundMessage) -> str:
        # The message reached the visitor's open widgets when it committed, and a widget that comes
        # back later fetches it: there is no provider to hand it to.
        return f"chat-{message.message_id}"

    def public_urls(self, channel: Any) -> dict[str, str]:
        base = settings.FRONTDESK_BASE_URL
        src = f"{base}/chat/{channel.public_id}/widget.js"
        return {
            "embed_snippet": f'<script src="{src}" async></script>',
            "try_url": f"{base}/chat/{channel.public_id}/try",
        }


def _attachment(data: Any) -> InboundAttachment:
    if not isinstance(data, dict):
        raise InboundRejected(_("An attachment is malformed."), code="invalid")
    try:
        content = base64.b64decode(str(data.get("data_base64", "")), validate=True)
    except (binascii.Error, ValueError):
        raise InboundRejected(_("An attachment is malformed."), code="invalid") from None
    return InboundAttachment(
        filename=str(data.get("filename") or "file")[:255],
        content_type=str(data.get("content_type") or "application/octet-stream")[:150],
        data=content,
    )
