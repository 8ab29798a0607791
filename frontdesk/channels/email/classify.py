"""What kind of mail this is besides a customer writing: an auto-reply, a bounce, a list post.

Auto-replies (RFC 3834: Auto-Submitted, Precedence, X-Autoreply…, out-of-office subjects in
several languages) and bounces are stored but never answered; a bounce (RFC 3464 DSN or the
free-text kind a mailer-daemon writes, quoting our original headers) names the Message-IDs of
our messages it reports on, so the core can mark their deliveries failed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import Any

from ..base import BounceReport
from .decode import decode_bytes, decode_header, decode_transfer, payload_bytes, transfer_encoding

# A subject that starts with one of these, followed by a colon, a dash, a bracket or nothing:
# "Automatic reply: Re: …", "Autoodpowiedź: …", "Out of Office" — not "Out of office hours?".
_AUTO_SUBJECT = re.compile(
    r"^\s*(?:\[[^\]]{0,40}\]\s*)?(?:"
    r"out of (?:the )?office(?: auto ?reply| reply)?|automatic reply|"
    r"auto(?:matic)?[- ]?(?:reply|response|answer)|autoreply|abwesenheitsnotiz|automatische antwort|"
    r"r[ée]ponse automatique|absence|nieobecno[śs][ćc](?: w (?:pracy|biurze))?|autoodpowied[źz]|"
    r"automatyczna odpowied[źz]|odpowied[źz] automatyczna|poza biurem|automatyczna wiadomo[śs][ćc]|"
    r"автоответ|автоматический ответ|вне офиса|"
    r"respuesta autom[áa]tica|fuera de la oficina|risposta automatica|fuori sede|automatisch antwoord|"
    r"afwezig|vacation reply|on vacation"
    r")\s*(?:[:\-–—(\[]|$)",
    re.IGNORECASE,
)

_BOUNCE_SUBJECT = re.compile(
    r"^\s*(?:"
    r"undelivered mail returned to sender|undeliverable:|undelivered:|undeliverable mail|"
    r"delivery status notification|mail delivery failed|delivery failure|delivery has failed|"
    r"returned mail:|failure notice|mail system error|message not delivered|delivery notification:|"
    r"warning: could not send message|delayed mail|mail delivery failure|non remis|unzustellbar|"
    r"niedostarczalne:|niedostarczona wiadomo[śs][ćc]|wiadomo[śs][ćc] niedostarczona|"
    r"nie mo[żz]na dostarczy[ćc] wiadomo|nie dostarczono wiadomo|zwrot wiadomo[śs]ci|"
    r"не доставлено|недоставленное сообщение|сообщение не доставлено|ошибка доставки"
    r")",
    re.IGNORECASE,
)

_DAEMON = re.compile(
    r"^(?:mailer-daemon|mailer_daemon|mailerdaemon|mail-daemon|maildaemon|postmaster|"
    r"mail\.delivery\.system|microsoftexchange[0-9a-f]*)@",
    re.IGNORECASE,
)

_ENHANCED_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_SMTP_CODE = re.compile(r"(?<![\d.])([45][0-5]\d)(?:[ -]|$)", re.MULTILINE)
_QUOTED_MESSAGE_ID = re.compile(
    r"^[ \t>]*Message-ID:[ \t]*\n?[ \t]*(<[^<>\s]+>)", re.IGNORECASE | re.MULTILINE
)
_RECIPIENT_LINE = re.compile(
    r"^[ \t]*<?([^\s<>@:;,\"]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,})>?(?::|[ \t]+(?:\(|host|on|said|SMTP|error))",
    re.MULTILINE,
)
# Exim: "The following address(es) failed:\n\n  jan@example.org"
_ADDRESS_LINE = re.compile(r"^[ \t]*<?([^\s<>@:;,\"]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,})>?[ \t]*$", re.MULTILINE)
# Where the copy of the returned message starts: addresses below it are not the failed ones.
_COPY_MARKER = re.compile(
    r"^.*(?:copy of the message|below this line|original message|returned message|oryginaln|"
    r"исходное сообщение|Nagłówki).*$",
    re.IGNORECASE | re.MULTILINE,
)
_DELAY_WORDS = re.compile(
    r"\bdelayed\b|will (?:retry|keep trying|be retried)|still (?:trying|undelivered)|"
    r"could not send message for past|not yet been delivered|has been delayed|opóźnion|задерж",
    re.IGNORECASE,
)
_MSGID = re.compile(r"<[^<>\s]+>")


@dataclass
class Classification:
    auto_reply: bool = False
    # Why: "auto-submitted: auto-replied", "precedence: bulk", "subject", "bounce"…
    reasons: list[str] = field(default_factory=list)
    bounce: BounceReport | None = None
    read_receipt: bool = False
    delivery_report: bool = False  # a DSN saying "delivered": automatic, not a bounce
    mailing_list: bool = False
    list_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        bounce = self.bounce
        return {
            "auto_reply": self.auto_reply,
            "reasons": self.reasons,
            "bounce": None
            if bounce is None
            else {
                "original_message_ids": bounce.original_message_ids,
                "recipients": bounce.recipients,
                "status": bounce.status,
                "action": bounce.action,
                "diagnostic": bounce.diagnostic,
                "permanent": bounce.permanent,
            },
            "read_receipt": self.read_receipt,
            "delivery_report": self.delivery_report,
            "mailing_list": self.mailing_list,
            "list_id": self.list_id,
        }


def classify(
    root: Message,
    header: Callable[[str], str],
    *,
    subject: str,
    sender: str,
    text: str,
    in_reply_to: Iterable[str] = (),
    defects: list[str] | None = None,
) -> Classification:
    """Classify a parsed message. `header(name)` returns a decoded header value ("" when absent);
    `sender` is the From address; `text` the readable body (the whole of it, not stripped)."""
    result = Classification()
    reasons = result.reasons

    auto_submitted = header("Auto-Submitted").strip().lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        reasons.append(f"auto-submitted: {auto_submitted.split(';')[0].strip()[:40]}")
    precedence = header("Precedence").strip().lower() or header("X-Precedence").strip().lower()
    if precedence in ("bulk", "junk", "list", "auto_reply", "auto-reply"):
        reasons.append(f"precedence: {precedence}")
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoreply-From", "X-Mail-Autoreply", "X-Autogenerated"):
        value = header(name).strip().lower()
        if value and value not in ("no", "false", "0"):
            reasons.append(f"{name.lower()}: {value[:40]}")
    suppress = header("X-Auto-Response-Suppress").lower()
    if re.search(r"\b(?:oof|all|autoreply)\b", suppress):
        reasons.append(f"x-auto-response-suppress: {suppress.strip()[:40]}")
    if header("Return-Path").strip() == "<>":
        reasons.append("null return path")
    if _AUTO_SUBJECT.match(subject or ""):
        reasons.append("subject")

    report_type = _report_type(root)
    if report_type == "disposition-notification" or _has_part(root, "message/disposition-notification"):
        result.read_receipt = True
        reasons.append("read receipt")
    else:
        bounce, delivered = None, False
        if report_type == "delivery-status" or _has_part(root, "message/delivery-status"):
            bounce, delivered = _dsn(root, defects)
        # Who writes bounces: mailer-daemons, with a null return path or X-Failed-Recipients.
        from_a_daemon = bool(
            _DAEMON.match(sender or "")
            or header("Return-Path").strip() == "<>"
            or header("X-Failed-Recipients")
            or report_type
        )
        if bounce is None and not delivered and (from_a_daemon or _BOUNCE_SUBJECT.match(subject or "")):
            bounce = _free_text_bounce(
                root, text, subject, sender, list(in_reply_to), defects, from_a_daemon=from_a_daemon
            )
        if bounce is not None:
            result.bounce = bounce
            reasons.append("bounce")
        elif delivered:
            result.delivery_report = True
            reasons.append("delivery report")

    list_id = header("List-Id")
    if (
        list_id
        or any(
            header(h)
            for h in ("List-Unsubscribe", "List-Post", "List-Help", "Mailing-List", "X-Mailing-List")
        )
        or precedence == "list"
    ):
        result.mailing_list = True
        match = _MSGID.search(list_id)
        result.list_id = (match.group(0).strip("<>") if match else list_id.strip())[:200]

    result.auto_reply = bool(reasons)
    return result


def _report_type(root: Message) -> str:
    if root.get_content_type() != "multipart/report":
        return ""
    return str(root.get_param("report-type", "") or "").strip().lower()


def _has_part(root: Message, content_type: str, depth: int = 0) -> bool:
    if depth > 3:
        return False
    if root.get_content_type() == content_type:
        return True
    if root.is_multipart() and root.get_content_maintype() == "multipart":
        return any(
            _has_part(p, content_type, depth + 1) for p in root.get_payload() if isinstance(p, Message)
        )
    return False


def _find_parts(root: Message, types: tuple[str, ...], depth: int = 0) -> list[Message]:
    if depth > 4:
        return []
    found = [root] if root.get_content_type() in types else []
    if root.get_content_maintype() == "multipart" and root.is_multipart():
        for part in root.get_payload():
            if isinstance(part, Message):
                found.extend(_find_parts(part, types, depth + 1))
    return found


def _status_blocks(part: Message, defects: list[str] | None) -> list[dict[str, str]]:
    """The field blocks of a message/delivery-status part (first: per message, then per recipient)."""
    blocks: list[dict[str, str]] = []
    payload = part.get_payload()
    encoding = transfer_encoding(part)
    if isinstance(payload, list) and payload and not encoding:
        for block in payload:
            if isinstance(block, Message):
                blocks.append({k.lower(): decode_header(str(v)) for k, v in block.raw_items()})
        return blocks
    # Base64-encoded (the stdlib then splits the encoded lines as if they were fields) or
    # otherwise opaque to the parser: decode and read the blocks ourselves.
    if isinstance(payload, list):
        data = b"\n".join(b.as_bytes(policy=compat32) for b in payload if isinstance(b, Message))
        data = decode_transfer(data, encoding, defects)
    else:
        data = payload_bytes(part, defects)
    text = decode_bytes(data, "utf-8", defects)
    for chunk in re.split(r"\r?\n[ \t]*\r?\n", text):
        if chunk.strip():
            fields = BytesHeaderParser(policy=compat32).parsebytes(chunk.strip().encode("utf-8") + b"\n\n")
            blocks.append({k.lower(): decode_header(str(v)) for k, v in fields.items()})
    return blocks


def _strip_type(value: str) -> str:
    """ "rfc822; jan@example.org" → "jan@example.org"; "smtp; 550 …" → "550 …"."""
    return value.split(";", 1)[1].strip() if ";" in value else value.strip()


def _dsn(root: Message, defects: list[str] | None) -> tuple[BounceReport | None, bool]:
    """A standard delivery status notification. Returns (bounce, it_only_says_delivered)."""
    failed: list[dict[str, str]] = []
    delayed: list[dict[str, str]] = []
    delivered = False
    original_ids: list[str] = []
    for part in _find_parts(root, ("message/delivery-status", "message/global-delivery-status")):
        blocks = _status_blocks(part, defects)
        for block in blocks:
            for key in ("original-message-id", "x-original-message-id"):
                original_ids.extend(_MSGID.findall(block.get(key, "")))
        for block in blocks[1:] or blocks:
            action = block.get("action", "").strip().lower()
            if not action and not block.get("final-recipient"):
                continue
            status = block.get("status", "")
            if not action:
                action = "delayed" if status.strip().startswith("4") else "failed"
            if action.startswith("fail"):
                failed.append(block)
            elif action.startswith("delay"):
                delayed.append(block)
            else:
                delivered = True
    original_ids.extend(_original_ids(root, defects))
    chosen = failed or delayed
    if not chosen:
        return None, delivered
    first = chosen[0]
    diagnostic = _strip_type(first.get("diagnostic-code", ""))
    status = _status(first.get("status", "")) or _status(diagnostic)
    recipients = [
        _strip_type(b.get("final-recipient") or b.get("original-recipient", "")).strip("<>") for b in chosen
    ]
    return (
        BounceReport(
            original_message_ids=list(dict.fromkeys(original_ids)),
            recipients=[r for r in dict.fromkeys(recipients) if r],
            status=status,
            action="failed" if failed else "delayed",
            diagnostic=re.sub(r"\s+", " ", diagnostic).strip()[:1000],
        ),
        False,
    )


def _status(text: str) -> str:
    match = _ENHANCED_STATUS.search(text or "")
    if match:
        return ".".join(match.groups())
    code = _SMTP_CODE.search(text or "")
    if code:
        return f"{code.group(1)[0]}.0.0"
    return ""


def _original_ids(root: Message, defects: list[str] | None) -> list[str]:
    """Message-IDs of the returned message (message/rfc822 or text/rfc822-headers parts)."""
    ids: list[str] = []
    for part in _find_parts(root, ("message/rfc822", "text/rfc822-headers", "message/global-headers")):
        if part.get_content_type() == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                for name, value in inner[0].raw_items():
                    if name.lower() == "message-id":
                        ids.extend(_MSGID.findall(str(value)))
                continue
        data = payload_bytes(part, defects)
        headers = BytesHeaderParser(policy=compat32).parsebytes(data.lstrip(b"\r\n"))
        for value in headers.get_all("Message-ID", []):
            ids.extend(_MSGID.findall(str(value)))
    return ids


def _free_text_bounce(
    root: Message,
    text: str,
    subject: str,
    sender: str,
    in_reply_to: list[str],
    defects: list[str] | None,
    *,
    from_a_daemon: bool,
) -> BounceReport | None:
    """A bounce without RFC 3464 structure: mailer-daemon prose with the original headers quoted.

    From a daemon, a bounce subject or a status code is enough; from anyone else (a customer
    writing "Undelivered: my parcel") it takes a status code and our quoted Message-ID."""
    ids = _original_ids(root, defects) + _QUOTED_MESSAGE_ID.findall(text)
    status = _status(text)
    if from_a_daemon:
        if not status and not ids and not _BOUNCE_SUBJECT.match(subject or ""):
            return None
    elif not (status and ids):
        return None
    if not ids:
        ids = in_reply_to[:1]
    report = _COPY_MARKER.split(text, 1)[0]
    recipients = []
    for address in [*_RECIPIENT_LINE.findall(report), *_ADDRESS_LINE.findall(report)]:
        if address.lower() != (sender or "").lower() and not _DAEMON.match(address + "@"):
            recipients.append(address)
    diagnostic = ""
    for line in text.splitlines():
        if _ENHANCED_STATUS.search(line) or _SMTP_CODE.search(line):
            diagnostic = line.strip()
            break
    delayed = bool(_DELAY_WORDS.search(subject or "") or _DELAY_WORDS.search(text[:3000]))
    return BounceReport(
        original_message_ids=list(dict.fromkeys(ids)),
        recipients=list(dict.fromkeys(recipients))[:20],
        status=status,
        action="delayed" if delayed and not status.startswith("5") else "failed",
        diagnostic=diagnostic[:1000],
    )
