"""Raw MIME → InboundMessage for one email channel. Pure: reads the channel's tenant, writes nothing.

parse.py does the reading; this module decides what the core receives: the dedupe key
(Message-ID, or a hash of the bytes), the contact, the threading hints (In-Reply-To/References,
the "[#1234]" subject reference, the signed reply address among the recipients) and the limits
(text length, attachment size and count) applied so that a message is shortened rather than refused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Any

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from ..base import InboundAttachment, InboundContact, InboundMessage, InboundRejected, RawPayload
from .addresses import conversation_from_address
from .decode import Address
from .parse import ParsedAttachment, ParsedEmail, message_id_of, parse_email

# Envelope recipients the SMTP receiver passes along (the RCPT TO it accepted).
ENVELOPE_HEADER = "x-frontdesk-rcpt"
# A Date before this or more than a day ahead of receipt is a broken clock, not a send time.
EARLIEST_DATE = dt.datetime(1990, 1, 1, tzinfo=dt.UTC)

_ADDRESS_SPLIT = re.compile(r"[\s,;]+")


def dedupe_key(parsed: ParsedEmail, raw: bytes) -> str:
    """The Message-ID ("<…>"), or "sha256:<hex>" of the raw bytes when there is none."""
    return parsed.message_id or "sha256:" + hashlib.sha256(raw).hexdigest()


def raw_dedupe_key(raw: bytes) -> str:
    """The same key from the headers alone, cheaply: for fetchers that store RawInbound.dedupe_key
    before parsing and skip what they stored already."""
    return message_id_of(raw) or "sha256:" + hashlib.sha256(raw).hexdigest()


def inbound_message(channel: Any, payload: RawPayload) -> InboundMessage:
    """`payload.body` is one raw RFC 5322 message, exactly as received.

    Raises InboundRejected only for bytes without any usable header or without a sender: the
    raw message is then kept, marked rejected, with the reason.
    """
    tenant = channel.tenant
    parsed = parse_email(payload.body, languages=list(getattr(tenant, "languages", None) or []))
    if not parsed.has_headers:
        raise InboundRejected(
            _("This is not an email message: it has no headers we can read."), code="unparseable"
        )
    contact = _contact(parsed)
    if contact is None:
        raise InboundRejected(
            _("The message has no sender address (From, Sender or Return-Path)."),
            status=422,
            code="no_sender",
        )
    envelope = [a for a in _ADDRESS_SPLIT.split(payload.headers.get(ENVELOPE_HEADER, "")) if "@" in a]
    verified = None
    for address in parsed.recipients(envelope):
        verified = conversation_from_address(address, channel.tenant_id)
        if verified:
            break

    notes: list[str] = []
    text, quoted_text, extra = _limit_text(parsed, notes)
    attachments = _limit_attachments([*parsed.attachments, *extra], notes)
    if notes:
        text = "\n\n".join(p for p in (text, "\n".join(notes)) if p)
    if not text.strip() and parsed.classification.bounce is not None:
        text = _bounce_summary(parsed)

    classification = parsed.classification
    return InboundMessage(
        dedupe_key=dedupe_key(parsed, payload.body),
        contact=InboundContact(name=contact.name[:200], email=contact.email, language=parsed.language),
        text=text,
        quoted_text=quoted_text,
        html=parsed.html,
        subject=parsed.subject,
        sent_at=_sent_at(parsed.date, payload.received_at),
        in_reply_to=parsed.thread_refs,
        conversation_number=parsed.subject_ref,
        verified_conversation_number=verified,
        attachments=attachments,
        language=parsed.language,
        is_auto_reply=classification.auto_reply,
        bounce=classification.bounce,
        metadata={
            "reply_to": [a.email for a in parsed.reply_to],
            "to": [a.email for a in parsed.to],
            "cc": [a.email for a in parsed.cc],
            "mailing_list": classification.mailing_list,
            "list_id": classification.list_id,
            "auto_reply_reasons": classification.reasons,
            "read_receipt": classification.read_receipt,
            "strip_method": parsed.strip_method,
            "forwarded": parsed.forwarded,
            "defects": parsed.defects[:20],
        },
    )


def _contact(parsed: ParsedEmail) -> Address | None:
    """From; a message without one is answered to its Sender or, last, its Return-Path."""
    if parsed.from_ is not None:
        return parsed.from_
    if parsed.sender is not None:
        return parsed.sender
    if parsed.return_path and "@" in parsed.return_path:
        return Address("", parsed.return_path)
    return None


def _sent_at(date: dt.datetime | None, received_at: dt.datetime | None) -> dt.datetime | None:
    if date is None:
        return None
    latest = (received_at or timezone.now()) + dt.timedelta(days=1)
    return date if EARLIEST_DATE <= date <= latest else None


def _limit_text(parsed: ParsedEmail, notes: list[str]) -> tuple[str, str, list[ParsedAttachment]]:
    """Text over the desk's limit is shortened; the whole of it is attached as message.txt."""
    limit = settings.FRONTDESK_MAX_MESSAGE_CHARS
    text, quoted = parsed.text, parsed.quoted_text[:limit]
    if len(text) <= limit:
        return text, quoted, []
    notes.append(_("[The message was shortened here; the whole text is attached as message.txt.]"))
    whole = ParsedAttachment("message.txt", "text/plain", text.encode("utf-8"))
    return text[: max(limit - 500, 0)], quoted, [whole]


def _limit_attachments(files: list[ParsedAttachment], notes: list[str]) -> list[InboundAttachment]:
    """Files over the size limit, and those beyond the count limit, are left out with a note
    in the text rather than refusing the whole message (the raw message keeps them)."""
    size_limit = settings.FRONTDESK_MAX_ATTACHMENT_BYTES
    count_limit = settings.FRONTDESK_MAX_ATTACHMENTS
    kept: list[ParsedAttachment] = []
    for f in files:
        if f.size > size_limit:
            notes.append(
                _("[Not kept: %(name)s (%(size)s) is larger than the limit of %(limit)s.]")
                % {"name": f.filename, "size": filesizeformat(f.size), "limit": filesizeformat(size_limit)}
            )
        else:
            kept.append(f)
    if len(kept) > count_limit:
        # Files the customer attached before the images their mail program put in the text.
        kept.sort(key=lambda f: f.inline)
        left_out = kept[count_limit:]
        kept = kept[:count_limit]
        notes.append(
            _("[Not kept: %(count)d more attachments (at most %(limit)d per message): %(names)s.]")
            % {"count": len(left_out), "limit": count_limit, "names": ", ".join(f.filename for f in left_out)}
        )
    return [InboundAttachment(f.filename, f.content_type, f.data, f.content_id) for f in kept]


def _bounce_summary(parsed: ParsedEmail) -> str:
    bounce = parsed.classification.bounce
    assert bounce is not None
    recipients = ", ".join(bounce.recipients) or _("the recipient")
    detail = " ".join(p for p in (bounce.status, bounce.diagnostic) if p)
    if bounce.action == "delayed":
        line = _("The message to %(recipients)s has not been delivered yet.") % {"recipients": recipients}
    else:
        line = _("The message to %(recipients)s could not be delivered.") % {"recipients": recipients}
    return f"{line}\n{detail}".strip()
