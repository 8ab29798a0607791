"""Raw MIME bytes → ParsedEmail: what the desk needs from a received email, without the database.

`parse_email(raw)` never raises. Broken input gives a best-effort result with its `defects`
listed; only bytes without any usable header are flagged (`has_headers` False), for the caller to
refuse. The stdlib parser (a compat32 policy, `_FAST`) reads the MIME structure; headers, charsets and
transfer encodings are decoded by decode.py, which survives what the wild sends.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import mimetypes
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from email import policy
from email.message import Message
from email.parser import BytesHeaderParser, BytesParser
from typing import Any

import structlog

from .classify import Classification, classify
from .decode import (
    Address,
    decode_bytes,
    decode_header,
    decode_param,
    decode_transfer,
    parse_addresses,
    payload_bytes,
    raw_bytes,
    raw_payload,
    transfer_encoding,
    uudecode,
)
from .htmltext import html_to_text, tidy
from .language import detect_language
from .strip import split_reply

log = structlog.get_logger(__name__)

# Nesting followed (multiparts in multiparts, forwarded messages in forwarded messages).
MAX_DEPTH = 25
MAX_PARTS = 1000

_MSGID = re.compile(r"<[^<>\s]+>")
_SUBJECT_REF = re.compile(r"\[#(\d{1,10})\]")
_REPLY_TAG = re.compile(r"^[^+@]+\+c(?P<number>[1-9][0-9]{0,9})-[a-z2-7]{6}@", re.IGNORECASE)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:\-]+)", re.IGNORECASE)
_NEWLINES = re.compile(r"\r\n?")
_BAD_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BOUNDARY_GUESS = re.compile(r"^--([^\s]{6,200}?)(?:--)?[ \t\r]*$", re.MULTILINE)
_KNOWN_HEADERS = frozenset({
    "from", "sender", "return-path", "to", "cc", "subject", "date", "message-id", "content-type",
    "mime-version", "received", "reply-to", "delivered-to", "in-reply-to", "references", "x-original-to",
})  # fmt: skip
_TNEF_TYPES = ("application/ms-tnef", "application/vnd.ms-tnef")
_REPORT_PARTS = {
    "message/delivery-status": "delivery-status.txt",
    "message/global-delivery-status": "delivery-status.txt",
    "message/disposition-notification": "disposition-notification.txt",
    "text/rfc822-headers": "original-headers.txt",
    "message/rfc822-headers": "original-headers.txt",
    "message/global-headers": "original-headers.txt",
}
_EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/pjpeg": ".jpg",
    "text/plain": ".txt",
    "text/calendar": ".ics",
    "message/rfc822": ".eml",
    "application/octet-stream": ".bin",
    "application/pgp-signature": ".asc",
    "application/pkcs7-signature": ".p7s",
    "application/x-pkcs7-signature": ".p7s",
}


@dataclass
class ParsedAttachment:
    filename: str
    content_type: str
    data: bytes = field(repr=False)
    content_id: str = ""
    # Shown in the body (a cid: image, Content-Disposition: inline) rather than listed.
    inline: bool = False

    @property
    def size(self) -> int:
        return len(self.data)

    def to_dict(self) -> dict[str, Any]:
        return {
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
            "content_id": self.content_id,
            "inline": self.inline,
            "sha256": hashlib.sha256(self.data).hexdigest(),
        }


@dataclass
class ParsedEmail:
    from_: Address | None = None
    sender: Address | None = None
    return_path: str = ""
    to: list[Address] = field(default_factory=list)
    cc: list[Address] = field(default_factory=list)
    bcc: list[Address] = field(default_factory=list)
    reply_to: list[Address] = field(default_factory=list)
    # Where the mail was delivered (Delivered-To, X-Original-To, Envelope-To): our own address.
    delivered_to: list[str] = field(default_factory=list)
    subject: str = ""
    date: dt.datetime | None = None
    date_header: str = ""
    message_id: str = ""
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    # The conversation reference in the subject, "[#1234]".
    subject_ref: int | None = None
    text: str = ""
    quoted_text: str = ""
    html: str = ""  # as received: untrusted, the core sanitises it
    text_from_html: bool = False
    strip_method: str = ""
    attachments: list[ParsedAttachment] = field(default_factory=list)
    # Headers of forwarded (message/rfc822) messages; their text is in `text`.
    forwarded: list[dict[str, str]] = field(default_factory=list)
    classification: Classification = field(default_factory=Classification)
    language: str = ""
    defects: list[str] = field(default_factory=list)
    has_headers: bool = True

    @property
    def thread_refs(self) -> list[str]:
        """Message-IDs this answers, most recent first: In-Reply-To, then References backwards."""
        return list(dict.fromkeys([*self.in_reply_to, *reversed(self.references)]))

    def recipients(self, extra: Iterable[str] = ()) -> list[str]:
        """Every address the mail was sent or delivered to (for the signed reply address)."""
        found = [a.email for a in (*self.to, *self.cc, *self.bcc)] + self.delivered_to + list(extra)
        return list(dict.fromkeys(a.strip() for a in found if a and a.strip()))

    def reply_address_candidates(self, extra: Iterable[str] = ()) -> list[tuple[str, int]]:
        """Recipients shaped like a signed reply address (support+c12-k3x9ab@…), unverified."""
        found = []
        for address in self.recipients(extra):
            match = _REPLY_TAG.match(address)
            if match:
                found.append((address, int(match["number"])))
        return found

    def to_dict(
        self, *, tenant_id: int | None = None, extra_recipients: Iterable[str] = ()
    ) -> dict[str, Any]:
        """JSON-serialisable; HTML sanitised as the desk would show it; attachments without data."""
        from frontdesk.desk.lib.sanitize import sanitize_html

        reply_address = None
        candidates = self.reply_address_candidates(extra_recipients)
        if candidates:
            address, number = candidates[0]
            verified = None
            if tenant_id is not None:
                from .addresses import conversation_from_address

                verified = any(conversation_from_address(a, tenant_id) == n for a, n in candidates)
            reply_address = {"address": address, "number": number, "verified": verified}

        def one(address: Address | None) -> dict[str, str] | None:
            return address.to_dict() if address else None

        return {
            "from": one(self.from_),
            "sender": one(self.sender),
            "return_path": self.return_path,
            "to": [a.to_dict() for a in self.to],
            "cc": [a.to_dict() for a in self.cc],
            "bcc": [a.to_dict() for a in self.bcc],
            "reply_to": [a.to_dict() for a in self.reply_to],
            "delivered_to": self.delivered_to,
            "subject": self.subject,
            "date": self.date.isoformat() if self.date else None,
            "date_header": self.date_header,
            "text": self.text,
            "quoted_text": self.quoted_text,
            "text_from_html": self.text_from_html,
            "strip_method": self.strip_method,
            "html": sanitize_html(self.html),
            "attachments": [a.to_dict() for a in self.attachments],
            "forwarded": self.forwarded,
            "thread": {
                "message_id": self.message_id,
                "in_reply_to": self.in_reply_to,
                "references": self.references,
                "subject_ref": self.subject_ref,
                "reply_address": reply_address,
            },
            "language": self.language,
            "classification": self.classification.to_dict(),
            "defects": self.defects,
            "has_headers": self.has_headers,
        }


# --- Entry point ---------------------------------------------------------------------------------


def parse_email(raw: bytes, *, languages: Iterable[str] | None = ()) -> ParsedEmail:
    """Parse one raw RFC 5322 message. Never raises.

    `languages` restricts language detection (the tenant's languages; empty: any language;
    None: no detection at all).
    """
    defects: list[str] = []
    try:
        return _parse(bytes(raw), defects, languages)
    except RecursionError:
        defects.append("structure too deep")
    except Exception as exc:  # the last net: a parser bug must not lose the message
        defects.append(f"parser error: {type(exc).__name__}: {str(exc)[:200]}")
    return _minimal(bytes(raw), defects)


def _parse(raw: bytes, defects: list[str], languages: Iterable[str] | None) -> ParsedEmail:
    raw = _strip_envelope(raw)
    msg = _message_from_bytes(raw, defects)
    if msg is None:
        return _minimal(raw, defects)
    parsed = _parse_message(msg, defects, depth=0)
    parsed.has_headers = any(name.lower() in _KNOWN_HEADERS for name, _value in msg.raw_items())
    if not parsed.has_headers:
        defects.append("no headers")
    if languages is not None:
        parsed.language = detect_language(parsed.text or parsed.subject, languages)
    parsed.defects = list(dict.fromkeys(defects))
    return parsed


_SPACED_HEADER = re.compile(rb"^([!-9;-~]{1,76})[ \t]+:", re.MULTILINE)


def message_id_of(raw: bytes) -> str:
    """The normalised Message-ID ("<…>") from the headers alone, "" when there is none. Never raises."""
    try:
        head = _strip_envelope(bytes(raw))
        end = re.search(rb"\r?\n\r?\n", head)
        headers = BytesHeaderParser(policy=policy.compat32).parsebytes(head[: end.start()] if end else head)
        return _message_id(" ".join(str(v) for v in headers.get_all("Message-ID", [])))
    except Exception:
        return ""


def _strip_envelope(raw: bytes) -> bytes:
    """An mbox "From sender date" line or leading blank lines are not part of the message;
    "Subject : x" (obsolete syntax, RFC 5322 §4.5) would end the headers for the stdlib."""
    raw = raw.lstrip(b"\r\n")
    if raw.startswith(b"From ") and not raw.startswith(b"From: "):
        raw = raw.split(b"\n", 1)[1] if b"\n" in raw else b""
    if _SPACED_HEADER.match(raw):
        end = re.search(rb"\r?\n\r?\n", raw)
        head, body = (raw[: end.start()], raw[end.start() :]) if end else (raw, b"")
        raw = _SPACED_HEADER.sub(rb"\1:", head) + body
    return raw


class _RawCompat32(type(policy.compat32)):  # type: ignore[misc]
    """compat32 that hands header values over as read (8-bit bytes as surrogates, which decode.py
    reads) instead of Header objects. policy.default re-parses Content-Type on every
    get_content_type()/get_param() — about 33 times a message, 60 % of parsing — and nothing here
    uses its header objects: decode.py decodes the raw values itself (docs/performance.md)."""

    def header_fetch_parse(self, name: str, value: str) -> str:  # type: ignore[override]
        return value


_FAST = _RawCompat32()


def _message_from_bytes(raw: bytes, defects: list[str]) -> Message | None:
    for chosen in (_FAST, policy.default):
        try:
            return BytesParser(policy=chosen).parsebytes(raw)
        except Exception as exc:
            defects.append(f"{chosen.__class__.__name__} parser: {type(exc).__name__}")
    return None


def _minimal(raw: bytes, defects: list[str]) -> ParsedEmail:
    """What is left when the parser itself failed: the headers we can read, the rest as text."""
    head, _sep, body = _NEWLINES.sub("\n", raw.decode("utf-8", "replace")).partition("\n\n")
    fields: dict[str, str] = {}
    for line in head.split("\n"):
        name, colon, value = line.partition(":")
        if colon and re.fullmatch(r"[!-9;-~]{1,76}", name):
            fields.setdefault(name.lower(), value.strip())
    from_ = parse_addresses([fields.get("from", "")])
    return ParsedEmail(
        from_=from_[0] if from_ else None,
        to=parse_addresses([fields.get("to", "")]),
        subject=decode_header(fields.get("subject", "")),
        message_id=_message_id(fields.get("message-id", "")),
        text=tidy(_BAD_CHARS.sub("", body)),
        defects=list(dict.fromkeys(defects)),
        has_headers=any(name in _KNOWN_HEADERS for name in fields),
    )


# --- One message (the top one or a forwarded one) --------------------------------------------------


class _Headers:
    """Decoded header access over the raw values the parser kept."""

    def __init__(self, msg: Message, defects: list[str]) -> None:
        self.raw: dict[str, list[str]] = {}
        for name, value in msg.raw_items():
            self.raw.setdefault(name.lower(), []).append(str(value))
        self.defects = defects
        self.charset = _body_charset(msg)

    def all(self, name: str) -> list[str]:
        return self.raw.get(name.lower(), [])

    def get(self, name: str) -> str:
        values = self.all(name)
        return decode_header(values[0], self.defects, fallback=self.charset) if values else ""

    def addresses(self, *names: str) -> list[Address]:
        values = [v for name in names for v in self.all(name)]
        return parse_addresses(values, self.defects, fallback=self.charset) if values else []


def _body_charset(msg: Message) -> str:
    """The charset of the first text part: raw 8-bit headers are usually in it."""
    for i, part in enumerate(msg.walk()):
        if i > 20:
            break
        if part.get_content_maintype() == "text":
            charset = _param(part, "charset")
            if charset:
                return charset
    return ""


def _param(part: Message, name: str) -> str:
    try:
        value = part.get_param(name)
    except Exception:
        return ""
    if isinstance(value, tuple):  # RFC 2231 (charset, language, value) under compat32
        value = email.utils.collapse_rfc2231_value(value)
    return str(value or "").strip()


def _parse_message(
    msg: Message, defects: list[str], depth: int, counter: list[int] | None = None
) -> ParsedEmail:
    headers = _Headers(msg, defects)
    parsed = ParsedEmail()
    from_ = headers.addresses("From")
    parsed.from_ = from_[0] if from_ else None
    if len(from_) > 1:
        defects.append("several From addresses")
    sender = headers.addresses("Sender")
    parsed.sender = sender[0] if sender else None
    return_path = headers.get("Return-Path")
    return_paths = parse_addresses([return_path]) if return_path else []
    parsed.return_path = return_paths[0].email if return_paths else return_path.strip("<> ")
    parsed.to = headers.addresses("To")
    parsed.cc = headers.addresses("Cc")
    parsed.bcc = headers.addresses("Bcc")
    parsed.reply_to = headers.addresses("Reply-To")
    parsed.delivered_to = [
        a.email for a in headers.addresses("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To")
    ]
    parsed.subject = headers.get("Subject")
    parsed.date_header = headers.get("Date")
    parsed.date = _date(msg, parsed.date_header, defects)
    parsed.message_id = _message_id(" ".join(headers.all("Message-ID")))
    parsed.in_reply_to = _message_ids(headers.all("In-Reply-To"))
    parsed.references = _message_ids(headers.all("References"))
    ref = _SUBJECT_REF.search(parsed.subject)
    parsed.subject_ref = int(ref.group(1)) if ref else None

    body = _Body(defects, counter)
    body.walk(msg, depth)
    _record_defects(msg, defects)

    html = "\n".join(body.html)
    converted = html_to_text(html) if html.strip() else None
    text = "\n\n".join(t for t in body.plain if t.strip())
    if not text.strip() and converted is not None:
        text, parsed.text_from_html = converted.text, True
    if not text.strip() and body.fallback_text:
        text = body.fallback_text
    text = tidy(text)
    parsed.classification = classification = classify(
        msg,
        headers.get,
        subject=parsed.subject,
        sender=parsed.from_.email if parsed.from_ else "",
        text=text,
        in_reply_to=parsed.in_reply_to,
        defects=defects,
    )
    # A bounce or receipt quotes our own message: that is its content, not history to hide.
    report = classification.bounce or classification.delivery_report or classification.read_receipt
    if depth == 0 and not report:
        split = split_reply(text, converted, subject=parsed.subject, text_from_html=parsed.text_from_html)
        text, parsed.quoted_text, parsed.strip_method = split.text, split.quoted, split.method
    forwarded_blocks = [block for block, _headers in body.forwarded]
    parsed.text = "\n\n".join(t for t in (text, *forwarded_blocks) if t)
    parsed.forwarded = [h for _block, h in body.forwarded]
    parsed.html = html
    parsed.attachments = _unique(body.attachments)
    return parsed


def _unique(attachments: list[ParsedAttachment]) -> list[ParsedAttachment]:
    """Outlook sends an invitation twice (text/calendar and invite.ics): the same file once."""
    seen: set[tuple[str, bytes]] = set()
    unique = []
    for attachment in attachments:
        key = (attachment.filename, hashlib.sha256(attachment.data).digest())
        if key not in seen:
            seen.add(key)
            unique.append(attachment)
    return unique


def _record_defects(msg: Message, defects: list[str]) -> None:
    for i, part in enumerate(msg.walk()):
        if i > MAX_PARTS:
            break
        for defect in getattr(part, "defects", ()):
            defects.append(type(defect).__name__)


def _message_id(value: str) -> str:
    found = _MSGID.findall(value or "")
    if found:
        return found[0]
    token = (value or "").strip().split()
    return f"<{token[0].strip('<>')}>" if token and "@" in token[0] and len(token[0]) < 500 else ""


_ID_SEPARATORS = re.compile(r"[\s,;]+")


def _message_ids(values: list[str]) -> list[str]:
    """Every "<id>" in order; ids some clients write without brackets get them."""
    found: list[str] = []
    for value in values:
        for token in _ID_SEPARATORS.split(value):
            if "<" in token or ">" in token:
                found.extend(i for i in _MSGID.findall(token) if len(i) < 500)
            elif "@" in token and len(token) < 500:
                found.append(f"<{token}>")
    return list(dict.fromkeys(found))


_DATE_COMMENT = re.compile(r"\([^)]*\)")


def _date(msg: Message, value: str, defects: list[str]) -> dt.datetime | None:
    """The Date header as an aware datetime (UTC when it names no zone), or None."""
    if not value:
        return None
    parsed: dt.datetime | None = None
    try:
        parsed = email.utils.parsedate_to_datetime(_DATE_COMMENT.sub(" ", value).strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        try:
            parsed = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            parsed = None
    if parsed is None:
        defects.append("unreadable Date")
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


# --- The body: text, HTML, attachments, forwarded messages ----------------------------------------


class _Body:
    def __init__(self, defects: list[str], counter: list[int] | None = None) -> None:
        self.defects = defects
        # Parts seen so far, shared with nested alternatives and forwarded messages.
        self.counter = counter if counter is not None else [0]
        self.plain: list[str] = []
        self.html: list[str] = []
        self.attachments: list[ParsedAttachment] = []
        self.forwarded: list[tuple[str, dict[str, str]]] = []
        self.fallback_text = ""  # a TNEF body, used when nothing else is readable

    def _child(self) -> _Body:
        return _Body(self.defects, self.counter)

    def walk(self, part: Message, depth: int, *, related: bool = False) -> None:
        self.counter[0] += 1
        if self.counter[0] > MAX_PARTS:
            if self.counter[0] == MAX_PARTS + 1:
                self.defects.append("too many parts")
            return
        content_type = _content_type(part)
        payload = getattr(part, "_payload", None)
        if depth > MAX_DEPTH:
            self.defects.append("nesting too deep")
            if not isinstance(payload, list):
                self._attachment(part, content_type)
            return
        if isinstance(payload, list):
            children = [p for p in payload if isinstance(p, Message)]
            if content_type in ("message/rfc822", "message/global"):
                self._message(part, children, depth)
            elif not content_type.startswith("multipart/"):
                self._attachment(part, content_type, default_name=_REPORT_PARTS.get(content_type, ""))
            elif content_type == "multipart/alternative":
                self._alternative(children, depth)
            elif content_type == "multipart/related":
                self._related(part, children, depth)
            elif content_type == "multipart/report":
                self._report(children, depth)
            else:
                for child in children:
                    self.walk(child, depth + 1, related=related)
            return
        if content_type.startswith("multipart/"):
            self._broken_multipart(part, content_type, depth)
            return
        self._leaf(part, content_type, depth, related=related)

    # -- containers ---------------------------------------------------------------------------------

    def _alternative(self, children: list[Message], depth: int) -> None:
        """Versions of the same content: the last plain text and the last HTML (RFC 2046: the
        last is the richest); attachments of every version, once."""
        versions = []
        for child in children:
            version = self._child()
            version.walk(child, depth + 1)
            versions.append(version)
        plain = [v for v in versions if any(t.strip() for t in v.plain)]
        html = [v for v in versions if any(h.strip() for h in v.html)]
        if plain:
            self.plain.extend(plain[-1].plain)
        if html:
            self.html.extend(html[-1].html)
        seen = {(a.filename, a.size, a.content_id) for a in self.attachments}
        for version in versions:
            for attachment in version.attachments:
                key = (attachment.filename, attachment.size, attachment.content_id)
                if key not in seen:
                    seen.add(key)
                    self.attachments.append(attachment)
            for forwarded in version.forwarded:
                if forwarded not in self.forwarded:
                    self.forwarded.append(forwarded)
            self.fallback_text = self.fallback_text or version.fallback_text

    def _related(self, part: Message, children: list[Message], depth: int) -> None:
        """The root (first, or the `start` parameter) is the body; the rest are its images."""
        if not children:
            return
        start = _param(part, "start").strip("<> ")
        root = children[0]
        if start:
            for child in children:
                if _content_id(child) == start:
                    root = child
                    break
        self.walk(root, depth + 1)
        for child in children:
            if child is not root:
                self.walk(child, depth + 1, related=True)

    def _report(self, children: list[Message], depth: int) -> None:
        """A bounce or read receipt: the human-readable part is the text; the returned message is
        attached as it is (no forwarded block: it is our own message)."""
        for child in children:
            content_type = _content_type(child)
            if content_type in ("message/rfc822", "message/global"):
                self._attach_message(child, "original-message.eml")
            elif content_type in _REPORT_PARTS:
                self._attachment(child, content_type, default_name=_REPORT_PARTS[content_type])
            else:
                self.walk(child, depth + 1)

    def _message(self, part: Message, children: list[Message], depth: int) -> None:
        """A forwarded message: attached as .eml, and shown in the text as a forwarded block."""
        inner = children[0] if children else None
        if inner is None:
            return
        subject = decode_header(_raw_header(inner, "Subject"), self.defects)
        self._attach_message(part, _eml_name(subject))
        inner_parsed = _parse_message(inner, self.defects, depth + 1, self.counter)
        lines = ["---------- Forwarded message ----------"]
        fields = {
            "from": str(inner_parsed.from_) if inner_parsed.from_ else "",
            "date": inner_parsed.date_header,
            "subject": inner_parsed.subject,
            "to": ", ".join(str(a) for a in inner_parsed.to),
            "message_id": inner_parsed.message_id,
        }
        for label, key in (("From", "from"), ("Date", "date"), ("Subject", "subject"), ("To", "to")):
            if fields[key]:
                lines.append(f"{label}: {fields[key]}")
        block = "\n".join(lines) + "\n\n" + inner_parsed.text
        self.forwarded.append((block.strip(), fields))
        # The forwarded mail's own files (an invoice PDF…) are what the customer wants us to see.
        for attachment in inner_parsed.attachments:
            if not attachment.inline:
                self.attachments.append(attachment)

    def _attach_message(self, part: Message, name: str) -> None:
        filename = _filename(part, self.defects) or name
        self.attachments.append(
            ParsedAttachment(filename, "message/rfc822", _message_bytes(part, self.defects))
        )

    def _broken_multipart(self, part: Message, content_type: str, depth: int) -> None:
        """A multipart whose boundary was missing or wrong: guess the boundary from the body."""
        text = raw_payload(part).decode("ascii", "surrogateescape")
        match = _BOUNDARY_GUESS.search(text)
        if match:
            boundary = match.group(1)
            head = f'Content-Type: {content_type}; boundary="{boundary}"\n\n'.encode()
            try:
                reparsed = BytesParser(policy=_FAST).parsebytes(head + raw_bytes(text))
            except Exception:
                reparsed = None
            if reparsed is not None and isinstance(reparsed.get_payload(), list) and reparsed.get_payload():
                self.defects.append("guessed multipart boundary")
                self.walk(reparsed, depth + 1)
                return
        self.defects.append("multipart without parts")
        self._text(part, "text/plain")

    # -- leaves -------------------------------------------------------------------------------------

    def _leaf(self, part: Message, content_type: str, depth: int, *, related: bool) -> None:
        disposition = _disposition(part)
        filename = _filename(part, self.defects)
        if content_type in _TNEF_TYPES or filename.lower() == "winmail.dat":
            self._tnef(part)
            return
        if content_type in ("message/rfc822", "message/global"):
            # Base64-encoded forwarded messages are not parsed by the stdlib: do it here.
            inner = _message_from_bytes(payload_bytes(part, self.defects), self.defects)
            if inner is not None:
                self._message(part, [inner], depth)
                return
        is_text = content_type in ("text/plain", "text/html", "text/enriched", "text/richtext")
        has_body = bool(self.plain or self.html)
        if is_text and disposition != "attachment" and not (filename and has_body) and not related:
            self._text(part, content_type)
            return
        if transfer_encoding(part) == "uuencode" and not filename:
            filename = uudecode(raw_payload(part))[0]
        self._attachment(part, content_type, filename=filename, related=related, disposition=disposition)

    def _text(self, part: Message, content_type: str) -> None:
        data = payload_bytes(part, self.defects)
        charset = _param(part, "charset")
        if content_type == "text/html" and not charset:
            match = _META_CHARSET.search(data[:4096])
            charset = match.group(1).decode("ascii", "replace") if match else ""
        text = _NEWLINES.sub("\n", decode_bytes(data, charset, self.defects))
        text = text.replace("\x00", "")
        if content_type == "text/html":
            self.html.append(text)
            return
        text = _BAD_CHARS.sub("", text)
        if _param(part, "format").lower() == "flowed":
            text = unflow(text, delsp=_param(part, "delsp").lower() == "yes")
        if content_type in ("text/enriched", "text/richtext"):
            text = re.sub(r"<[^<>]{1,40}>", "", text).replace("<<", "<")
        self.plain.append(text)

    def _attachment(
        self,
        part: Message,
        content_type: str,
        *,
        filename: str = "",
        related: bool = False,
        disposition: str = "",
        default_name: str = "",
    ) -> None:
        data = _part_bytes(part, self.defects)
        content_id = _content_id(part)
        filename = (
            filename or _filename(part, self.defects) or default_name or _default_name(content_type, part)
        )
        if content_type in ("application/octet-stream", "") and "." in filename:
            content_type = mimetypes.guess_type(filename)[0] or content_type
        inline = bool(content_id and (related or disposition == "inline")) or (
            related and content_type.startswith("image/")
        )
        self.attachments.append(ParsedAttachment(filename, content_type, data, content_id, inline))

    def _tnef(self, part: Message) -> None:
        """Outlook's winmail.dat: its files become attachments, its body the text if there is none."""
        data = payload_bytes(part, self.defects)
        try:
            from tnefparse import TNEF

            tnef = TNEF(data, do_checksum=True)  # cheap, and False logs a line per file
        except Exception as exc:
            self.defects.append(f"unreadable TNEF: {type(exc).__name__}")
            self._attachment(part, "application/ms-tnef", filename="winmail.dat")
            return
        found = False
        for item in tnef.attachments:
            content = item.data if isinstance(item.data, bytes) else b""
            name = item.long_filename()
            if isinstance(name, bytes):
                name = decode_bytes(name.rstrip(b"\x00"), "utf-8", self.defects, fallbacks=("cp1252",))
            name = str(name or "").strip("\x00 ") or "attachment.bin"
            guessed = mimetypes.guess_type(name)[0] or "application/octet-stream"
            self.attachments.append(ParsedAttachment(name, guessed, content))
            found = True
        body = tnef.body
        if isinstance(body, bytes):
            body = decode_bytes(body.rstrip(b"\x00"), tnef.codepage or "cp1252", self.defects)
        if body and str(body).strip():
            self.fallback_text = _NEWLINES.sub("\n", str(body))
            found = True
        html = tnef.htmlbody
        if isinstance(html, bytes):
            html = decode_bytes(html, "utf-8", self.defects)
        if html and str(html).strip() and not self.html:
            self.html.append(str(html))
            found = True
        if not found:
            self._attachment(part, "application/ms-tnef", filename="winmail.dat")


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type().lower()
    except Exception:
        return "application/octet-stream"


def _disposition(part: Message) -> str:
    try:
        return (part.get_content_disposition() or "").lower()
    except Exception:
        return ""


def _content_id(part: Message) -> str:
    value = _raw_header(part, "Content-ID")
    return re.sub(r"\s+", "", value).strip("<>")[:300]


def _raw_header(part: Message, name: str) -> str:
    for key, value in part.raw_items():
        if key.lower() == name.lower():
            return str(value)
    return ""


def _filename(part: Message, defects: list[str]) -> str:
    name = ""
    try:
        name = part.get_filename() or ""
    except Exception:
        name = ""
    if not name:
        name = _param(part, "name")
    if not name:
        location = _raw_header(part, "Content-Location").strip()
        name = location.rsplit("/", 1)[-1] if location and "." in location.rsplit("/", 1)[-1] else ""
    if not name:
        return ""
    name = decode_param(str(name), defects)
    # "C:\Documents\invoice.pdf" → "invoice.pdf"
    return re.split(r"[\\/]", name)[-1].strip()[:255]


def _default_name(content_type: str, part: Message) -> str:
    if content_type == "message/rfc822":
        return "message.eml"
    extension = _EXTENSIONS.get(content_type) or mimetypes.guess_extension(content_type) or ".bin"
    if extension == ".bin" and content_type.startswith("text/"):
        extension = ".txt"
    stem = {"image": "image", "text": "text", "audio": "audio", "video": "video"}.get(
        content_type.split("/", 1)[0], "attachment"
    )
    if content_type == "text/calendar":
        stem = "invite"
    return stem + extension


def _eml_name(subject: str) -> str:
    stem = " ".join(re.sub(r"[\\/:*?\"<>|\x00-\x1f]+", " ", subject).split()).strip(" .")[:80]
    return f"{stem or 'message'}.eml"


def _part_bytes(part: Message, defects: list[str]) -> bytes:
    """A leaf's decoded content; for parts the parser split into header blocks
    (message/delivery-status), those blocks as text again."""
    payload = getattr(part, "_payload", None)
    if isinstance(payload, list):
        chunks = []
        for block in payload:
            if isinstance(block, Message):
                try:
                    chunks.append(block.as_bytes(policy=policy.compat32))
                except Exception:
                    defects.append("unreadable report block")
        return decode_transfer(b"\n".join(chunks), transfer_encoding(part), defects)
    return payload_bytes(part, defects)


def _message_bytes(part: Message, defects: list[str]) -> bytes:
    """The raw bytes of a message/rfc822 part's message."""
    payload = getattr(part, "_payload", None)
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        inner = payload[0]
        for chosen in (policy.compat32, policy.default):
            try:
                return inner.as_bytes(policy=chosen)
            except Exception:  # the stdlib generator fails on some broken headers; try the other policy
                log.debug("re-encoding a forwarded message failed", exc_info=True)
        defects.append("forwarded message could not be re-encoded")
        return b""
    return payload_bytes(part, defects)


def unflow(text: str, *, delsp: bool = False) -> str:
    """Undo format=flowed (RFC 3676): lines ending with a space continue on the next line.
    (A blank line always ends the paragraph: clients leave trailing spaces before them.)"""
    out: list[str] = []
    current = ""
    current_depth = -1
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        if content.startswith(" "):
            content = content[1:]  # space-stuffing
        if (
            current_depth >= 0
            and depth == current_depth
            and current.endswith(" ")
            and current != "-- "
            and content.strip()
        ):
            current = (current[:-1] if delsp else current) + content
            continue
        if current_depth >= 0:
            out.append((">" * current_depth + " " if current_depth else "") + current)
        current, current_depth = content, depth
    if current_depth >= 0:
        out.append((">" * current_depth + " " if current_depth else "") + current)
    return "\n".join(out)
