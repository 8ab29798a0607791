"""The web contact form: a public page per channel (embeddable in the shop's site) that opens a
conversation and shows the customer its reference number. Replies go out by email.

Spam protection without third parties: a hidden honeypot field, a signed form token that records
when the form was rendered (too fast or too old is refused), and per-IP rate limiting in the view.
The form token is also the dedupe key: a double click or a resubmitted page creates one message.
"""

from __future__ import annotations

import time
import uuid
from email.utils import make_msgid
from typing import Any
from urllib.parse import parse_qs

import pydantic
from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives, get_connection
from django.utils.translation import gettext as _

from ..base import (
    Capabilities,
    ChannelAdapter,
    InboundContact,
    InboundMessage,
    InboundRejected,
    OutboundMessage,
    RawPayload,
    TransportError,
)

TOKEN_SALT = "frontdesk.form"  # noqa: S105 - a signing namespace, not a secret
HONEYPOT_FIELD = "website"


class Config(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")

    title: str = pydantic.Field("", max_length=200)
    intro: str = pydantic.Field("", max_length=2000)
    # Sender of the replies ("Shop <support@shop.example>"); the installation's default when empty.
    reply_from: str = pydantic.Field("", max_length=320)
    ask_phone: bool = True
    # Sites allowed to embed the form in a frame (https://shop.example); none: only linked to.
    embed_origins: list[str] = pydantic.Field(default_factory=list)
    # A human fills the form in no less than this; bots are faster.
    min_seconds: int = pydantic.Field(3, ge=0, le=60)
    # Outgoing mail server for replies (smtp://user:pass@host:587 style is configured in EMAIL_URL
    # for the installation); per-channel SMTP arrives with the email channel.


def form_token(channel_public_id: str, now: float | None = None) -> str:
    """A fresh token for one rendering of the form: signed, with the time it was made."""
    return signing.dumps(
        {"c": channel_public_id, "t": int(now if now is not None else time.time()), "n": uuid.uuid4().hex},
        salt=TOKEN_SALT,
    )


class FormChannel(ChannelAdapter):
    kind = "form"
    label = "Contact form"
    Config = Config
    capabilities = Capabilities(recipient_kind="email", thread_by_customer=False)

    def parse_inbound(self, channel: Any, payload: RawPayload) -> list[InboundMessage]:
        config = self.config(channel)
        if not payload.content_type.lower().startswith("application/x-www-form-urlencoded"):
            raise InboundRejected(
                _("Send the form as a web form."), status=415, code="unsupported_media_type"
            )
        try:
            fields = {
                k: v[0] for k, v in parse_qs(payload.body.decode("utf-8"), keep_blank_values=True).items()
            }
        except UnicodeDecodeError:
            raise InboundRejected(_("The form could not be read."), status=400, code="malformed") from None
        if fields.get(HONEYPOT_FIELD):
            raise InboundRejected(_("The form could not be sent."), status=400, code="spam")
        try:
            token = signing.loads(fields.get("token", ""), salt=TOKEN_SALT, max_age=24 * 3600)
        except signing.BadSignature:
            raise InboundRejected(
                _("The form has expired. Please reload the page and send it again."),
                status=400,
                code="expired",
            ) from None
        if token.get("c") != str(channel.public_id):
            raise InboundRejected(_("The form could not be sent."), status=400, code="wrong_form")
        if time.time() - token.get("t", 0) < config.min_seconds:
            raise InboundRejected(
                _("The form was sent too quickly. Please try again."), status=400, code="too_fast"
            )
        errors: dict[str, list[str]] = {}
        name = fields.get("name", "").strip()[:200]
        email = fields.get("email", "").strip()[:320]
        phone = fields.get("phone", "").strip()[:40] if config.ask_phone else ""
        text = fields.get("message", "").strip()
        if not email:
            errors["email"] = [_("We need your email address to answer you.")]
        if not text:
            errors["message"] = [_("Write your message.")]
        if len(text) > 20_000:
            errors["message"] = [_("Please keep the message under 20,000 characters.")]
        if errors:
            raise InboundRejected(
                _("Please correct the fields marked below."), status=422, code="invalid", fields=errors
            )
        return [
            InboundMessage(
                dedupe_key=f"form:{token['n']}",
                contact=InboundContact(name=name, email=email, phone=phone),
                text=text,
                subject=fields.get("subject", "").strip()[:300],
                metadata={"page": fields.get("page", "")[:500]},
            )
        ]

    def send(self, channel: Any, message: OutboundMessage) -> str:
        config = self.config(channel)
        message_id = make_msgid(
            domain=settings.FRONTDESK_BASE_URL.split("//")[-1].split(":")[0].split("/")[0] or None
        )
        subject = f"Re: {message.conversation_subject} [#{message.conversation_number}]".strip()
        mail = EmailMultiAlternatives(
            subject=subject,
            body=message.text,
            from_email=config.reply_from or settings.DEFAULT_FROM_EMAIL,
            to=[message.recipient],
            headers={"Message-ID": message_id, "Auto-Submitted": "no"},
        )
        for a in message.attachments:
            mail.attach_file(a["path"], a["content_type"])
            mail.attachments[-1] = (a["filename"], mail.attachments[-1][1], a["content_type"])
        try:
            get_connection(timeout=settings.FRONTDESK_DELIVERY_TIMEOUT_SECONDS).send_messages([mail])
        except OSError as exc:
            raise TransportError(f"The mail server did not take the message: {exc}") from None
        return message_id
