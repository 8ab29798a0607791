"""The web contact form: a public page per channel (embeddable in the shop's site) that opens a
conversation and shows the customer its reference number. Replies go out by email.

Spam protection without third parties: a hidden honeypot field, a signed form token that records
when the form was rendered (too fast or too old is refused), and per-IP rate limiting in the view.
The form token is also the dedupe key: a double click or a resubmitted page creates one message.
"""

from __future__ import annotations

import html
import smtplib
import time
import uuid
from email.utils import make_msgid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pydantic
from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives, get_connection
from django.templatetags.static import static
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from frontdesk.desk.lib.addresses import InvalidAddress, normalize_email, normalize_phone

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
# A bot fills every input it finds; people never see this one.
HONEYPOT_FIELD = "website"
# A form left open longer than this must be reloaded (its token no longer verifies).
TOKEN_MAX_AGE = 24 * 3600
MAX_TEXT_CHARS = 20_000
FIELDS = ("name", "email", "phone", "subject", "message")


def _origin(value: str) -> str:
    value = value.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.path or parts.query:
        raise ValueError(_("%(value)s is not an origin like https://shop.example") % {"value": repr(value)})
    if parts.scheme == "http" and parts.hostname not in ("localhost", "127.0.0.1"):
        raise ValueError(_("%(value)s: use https://") % {"value": repr(value)})
    return f"{parts.scheme}://{parts.netloc.lower()}"


class Config(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")

    # Titles and descriptions are marked for translation here and translated by the settings form.
    title: str = pydantic.Field(
        "",
        max_length=200,
        title=gettext_noop("Title"),
        description=gettext_noop("Shown above the form; the shop's name when empty."),
    )
    intro: str = pydantic.Field(
        "",
        max_length=2000,
        title=gettext_noop("Introduction"),
        description=gettext_noop(
            "A few words above the fields, e.g. when the customer can expect an answer."
        ),
    )
    reply_from: str = pydantic.Field(
        "",
        max_length=320,
        title=gettext_noop("Replies come from"),
        description=gettext_noop(
            'Sender of the replies, e.g. "Shop <support@shop.example>"; when empty, the installation\'s.'
        ),
    )
    ask_phone: bool = pydantic.Field(True, title=gettext_noop("Ask for a phone number"))
    require_phone: bool = pydantic.Field(False, title=gettext_noop("Phone number is required"))
    embed_origins: list[str] = pydantic.Field(
        default_factory=list,
        max_length=20,
        title=gettext_noop("Sites that may embed the form"),
        description=gettext_noop(
            "Addresses such as https://shop.example; with none, the form can only be linked to."
        ),
    )
    min_seconds: int = pydantic.Field(
        3,
        ge=0,
        le=60,
        title=gettext_noop("Minimum fill-in time (seconds)"),
        description=gettext_noop(
            "Forms sent faster than this are refused as spam: people are slower than bots."
        ),
    )
    # Replies are sent through the installation's mail server (EMAIL_URL); per-channel SMTP
    # arrives with the email channel.

    @pydantic.field_validator("embed_origins")
    @classmethod
    def _origins(cls, values: list[str]) -> list[str]:
        return list(dict.fromkeys(_origin(v) for v in values if v.strip()))

    @pydantic.field_validator("reply_from")
    @classmethod
    def _reply_from(cls, value: str) -> str:
        from email.utils import parseaddr

        value = value.strip()
        if value:
            try:
                normalize_email(parseaddr(value)[1])
            except InvalidAddress:
                raise ValueError(
                    _("%(value)s is not a valid sender address") % {"value": repr(value)}
                ) from None
        return value


def form_token(channel_public_id: str, now: float | None = None) -> str:
    """A fresh token for one rendering of the form: signed, with the time it was made."""
    return signing.dumps(
        {
            "c": str(channel_public_id),
            "t": int(now if now is not None else time.time()),
            "n": uuid.uuid4().hex,
        },
        salt=TOKEN_SALT,
    )


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class UnreadableForm(ValueError):
    pass


def read_fields(body: bytes, content_type: str) -> dict[str, str]:
    """The submitted form fields (first value of each; files are ignored). Raises UnreadableForm."""
    media_type = content_type.split(";")[0].strip().lower()
    try:
        if media_type == "multipart/form-data":
            # A shop's own HTML may post with enctype="multipart/form-data"; our page does not.
            from io import BytesIO

            from django.core.files.uploadhandler import MemoryFileUploadHandler
            from django.http.multipartparser import MultiPartParser, MultiPartParserError

            meta = {"CONTENT_TYPE": content_type, "CONTENT_LENGTH": str(len(body))}
            try:
                data, _files = MultiPartParser(
                    meta, BytesIO(body), [MemoryFileUploadHandler()], "utf-8"
                ).parse()
            except MultiPartParserError as exc:
                raise UnreadableForm(str(exc)) from None
            return {k: data.getlist(k)[0] for k in data}
        return {k: v[0] for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True).items()}
    except UnicodeDecodeError as exc:
        raise UnreadableForm(str(exc)) from None


class FormChannel(ChannelAdapter):
    kind = "form"
    label = gettext_noop("Contact form")
    Config = Config
    capabilities = Capabilities(recipient_kind="email", thread_by_customer=False)

    def parse_inbound(self, channel: Any, payload: RawPayload) -> list[InboundMessage]:
        config = self.config(channel)
        media_type = payload.content_type.split(";")[0].strip().lower()
        if media_type not in FORM_TYPES:
            raise InboundRejected(
                _("Send the form as a web form."), status=415, code="unsupported_media_type"
            )
        try:
            fields = read_fields(payload.body, payload.content_type)
        except UnreadableForm:
            raise InboundRejected(_("The form could not be read."), status=400, code="malformed") from None
        if fields.get(HONEYPOT_FIELD):
            raise InboundRejected(_("The form could not be sent."), status=400, code="spam")
        try:
            # The age is checked below against the time in the token, as of receipt.
            token = signing.loads(fields.get("token", ""), salt=TOKEN_SALT)
        except signing.BadSignature:
            raise InboundRejected(
                _("The form has expired. Please check your message and send it again."),
                status=400,
                code="expired",
            ) from None
        if not isinstance(token, dict) or token.get("c") != str(channel.public_id) or "n" not in token:
            raise InboundRejected(_("The form could not be sent."), status=400, code="wrong_form")
        # Judged at receipt, so re-processing the stored payload later does not refuse it.
        received = payload.received_at.timestamp() if payload.received_at else time.time()
        age = received - float(token.get("t", 0))
        if age > TOKEN_MAX_AGE:
            raise InboundRejected(
                _("The form has expired. Please check your message and send it again."),
                status=400,
                code="expired",
            )
        if age < config.min_seconds:
            raise InboundRejected(
                _("The form was sent too quickly. Please wait a moment and send it again."),
                status=400,
                code="too_fast",
            )
        errors: dict[str, list[str]] = {}
        name = fields.get("name", "").strip()[:200]
        email = fields.get("email", "").strip()
        phone = fields.get("phone", "").strip() if config.ask_phone else ""
        subject = " ".join(fields.get("subject", "").split())
        text = fields.get("message", "").strip()
        if not email:
            errors["email"] = [_("We need your email address to answer you.")]
        else:
            try:
                email = normalize_email(email)
            except InvalidAddress:
                errors["email"] = [_("This does not look like an email address, e.g. jan@example.com.")]
        if phone:
            try:
                phone = normalize_phone(phone, channel.tenant.country or "PL")
            except InvalidAddress:
                errors["phone"] = [_("This does not look like a phone number, e.g. +48 601 234 567.")]
        elif config.ask_phone and config.require_phone:
            errors["phone"] = [_("We need your phone number.")]
        if len(subject) > 300:
            errors["subject"] = [_("Please keep the subject under 300 characters.")]
        if not text:
            errors["message"] = [_("Write your message.")]
        elif len(text) > MAX_TEXT_CHARS:
            errors["message"] = [
                _("Please keep the message under %(n)s characters.") % {"n": f"{MAX_TEXT_CHARS:,}"}
            ]
        if errors:
            raise InboundRejected(
                _("Please correct the fields marked below."), status=422, code="invalid", fields=errors
            )
        # The language the page was shown in (a hidden field): the customer read and wrote in it.
        language = fields.get("language", "")
        language = language if language in dict(settings.LANGUAGES) else ""
        return [
            InboundMessage(
                dedupe_key=f"form:{token['n']}",
                contact=InboundContact(name=name, email=email, phone=phone, language=language),
                text=text,
                subject=subject,
                language=language,
                metadata={"page": fields.get("page", "")[:500]},
            )
        ]

    def send(self, channel: Any, message: OutboundMessage) -> str:
        config = self.config(channel)
        host = urlsplit(settings.FRONTDESK_BASE_URL).hostname or "localhost"
        message_id = make_msgid(domain=host)
        language = message.language if message.language in dict(settings.LANGUAGES) else None
        with translation.override(language or settings.LANGUAGE_CODE):
            subject = (
                f"Re: {message.conversation_subject or _('Your message')} [#{message.conversation_number}]"
            )
            footer = _("Reference number: #%(n)d") % {"n": message.conversation_number}
        text = f"{message.text}\n\n-- \n{footer}\n"
        mail = EmailMultiAlternatives(
            subject=" ".join(subject.split()),
            body=text,
            from_email=config.reply_from or settings.DEFAULT_FROM_EMAIL,
            to=[message.recipient],
            headers={"Message-ID": message_id, "Auto-Submitted": "no"},
        )
        if message.html:
            mail.attach_alternative(f"{message.html}<p>-- <br>{html.escape(footer)}</p>", "text/html")
        for a in message.attachments:
            with open(a["path"], "rb") as f:
                mail.attach(a["filename"], f.read(), a["content_type"])
        try:
            get_connection(timeout=settings.FRONTDESK_DELIVERY_TIMEOUT_SECONDS).send_messages([mail])
        except smtplib.SMTPRecipientsRefused as exc:
            answers = list(exc.recipients.values())
            detail = "; ".join(f"{code} {_text(reply)}" for code, reply in answers)
            permanent = bool(answers) and all(500 <= code < 600 for code, _reply in answers)
            raise TransportError(
                f"The mail server refused {message.recipient}: {detail}", permanent=permanent
            ) from None
        except smtplib.SMTPAuthenticationError as exc:
            # The installation's mail settings are wrong: no retry helps until an operator fixes them.
            raise TransportError(
                f"The mail server refused our login: {exc.smtp_code} {_text(exc.smtp_error)}",
                permanent=True,
                disable_channel=True,
            ) from None
        except smtplib.SMTPResponseException as exc:
            raise TransportError(
                f"The mail server answered {exc.smtp_code} {_text(exc.smtp_error)}",
                permanent=500 <= exc.smtp_code < 600,
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise TransportError(f"Could not reach the mail server: {exc}") from None
        return message_id

    def public_urls(self, channel: Any) -> dict[str, str]:
        base = settings.FRONTDESK_BASE_URL
        form_url = f"{base}/f/{channel.public_id}/"
        title = html.escape(self.config(channel).title or channel.name, quote=True)
        snippet = (
            f'<iframe src="{form_url}" title="{title}" data-frontdesk-form '
            f'style="width:100%;max-width:40rem;height:46rem;border:0" loading="lazy"></iframe>\n'
            f'<script src="{base}{static("channels/embed.js")}" async></script>'
        )
        return {"form_url": form_url, "embed_snippet": snippet}


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
