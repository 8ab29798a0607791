"""Raw MIME → InboundMessage. (Minimal first version; the full parser lives in parse.py.)"""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

from ..base import InboundContact, InboundMessage, InboundRejected, RawPayload
from .addresses import conversation_from_address

_MSGID = re.compile(r"<[^<>\s]+>")
_SUBJECT_REF = re.compile(r"\[#(\d{1,10})\]")


def inbound_message(channel: Any, payload: RawPayload) -> InboundMessage:
    try:
        msg = email.message_from_bytes(payload.body, policy=email.policy.default)
    except Exception as exc:  # the stdlib parser is lenient; anything raised here is truly broken
        raise InboundRejected(f"Unparseable message: {exc}", code="unparseable") from None
    assert isinstance(msg, EmailMessage)
    sender = getaddresses([str(msg.get("From", ""))])
    name, address = sender[0] if sender else ("", "")
    if not address:
        raise InboundRejected("The message has no sender address", status=422, code="no_sender")
    message_id = (_MSGID.findall(str(msg.get("Message-ID", ""))) or [""])[0]
    dedupe = message_id or "sha256:" + hashlib.sha256(payload.body).hexdigest()
    refs = (
        _MSGID.findall(str(msg.get("In-Reply-To", ""))) + _MSGID.findall(str(msg.get("References", "")))[::-1]
    )
    subject = str(msg.get("Subject", ""))
    ref = _SUBJECT_REF.search(subject)
    verified = None
    for _name, rcpt in getaddresses(
        [str(v) for k in ("To", "Cc", "Delivered-To") for v in msg.get_all(k, [])]
    ):
        verified = verified or conversation_from_address(rcpt, channel.tenant_id)
    body = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    try:
        sent_at = parsedate_to_datetime(str(msg.get("Date", ""))) if msg.get("Date") else None
    except (TypeError, ValueError):
        sent_at = None
    return InboundMessage(
        dedupe_key=dedupe,
        contact=InboundContact(name=name, email=address),
        text=body.get_content() if body is not None else "",
        html=html.get_content() if html is not None else "",
        subject=subject,
        sent_at=sent_at if sent_at and sent_at.tzinfo else None,
        in_reply_to=list(dict.fromkeys(refs)),
        conversation_number=int(ref.group(1)) if ref else None,
        verified_conversation_number=verified,
        is_auto_reply=str(msg.get("Auto-Submitted", "no")).lower() != "no",
    )
