"""Replies by email: one MIME message per delivery, sent over the channel's SMTP server (or the
installation's mail backend when the channel has none), errors sorted into transient (retried by the
outbox) and permanent ones (shown on the message). Read docs/email-sending.md.

The Message-ID is derived from the delivery, so every attempt of one delivery sends the same id:
a message that reached the server although the worker never learned it (a crash, a lost answer)
and is sent again is recognised as a duplicate by mail clients, and the id stored as the message's
provider id is exactly the one customers' replies and bounces refer to.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import re
import smtplib
import ssl
import zoneinfo
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Any

import pydantic
import structlog
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.message import BadHeaderError
from django.core.mail.utils import DNS_NAME
from django.utils import formats, translation
from django.utils.html import escape, urlize
from django.utils.translation import gettext as _

from ..base import OutboundMessage, TransportError
from . import oauth
from .addresses import reply_address
from .config import Config, Security

log = structlog.get_logger(__name__)

# References keeps the thread's first message (the root clients thread by) and the latest ones;
# a long conversation would otherwise grow a header that servers truncate or refuse.
MAX_REFERENCES = 20
# Longer quotes are cut: the whole history stays in the customer's mailbox anyway.
MAX_QUOTE_CHARS = 10_000

_MSGID = re.compile(r"^<[\x21-\x3b\x3d\x3f-\x7e]+@[\x21-\x3b\x3d\x3f-\x7e]+>$")
_SUBJECT_REF = re.compile(r"\s*\[#\d{1,10}\]")
# "Re:" as mail clients write it in many languages ("AW:", "Odp:", "SV:", "Re[2]:", "Отв:").
_REPLY_PREFIX = re.compile(
    r"^\s*(?:(?:re|aw|sv|vs|odp|antw|rif|res|ynt|отв|ответ)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*)+",
    re.IGNORECASE,
)
_PARAGRAPHS = re.compile(r"\n[ \t]*\n")
_MIME_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$")
_PLACEHOLDERS = ("customer_name", "agent_name", "shop_name", "conversation_number")


def send_reply(channel: Any, message: OutboundMessage) -> str:
    """Send the agent's reply; return the Message-ID it went out with (the message's provider id)."""
    try:
        config = Config.model_validate(channel.config)
    except pydantic.ValidationError as exc:
        raise TransportError(
            f"The channel's settings are incomplete: {exc.errors()[0]['msg']}",
            permanent=True,
            disable_channel=True,
        ) from None
    mail, message_id = build_reply(channel, config, message)
    if config.smtp_host:
        _send_smtp(channel, config, mail, [envelope_address(message.recipient)])
    else:
        _send_with_installation_backend(mail)
    return message_id


# --- The message ---------------------------------------------------------------------------------


def build_reply(channel: Any, config: Config, message: OutboundMessage) -> tuple[EmailMultiAlternatives, str]:
    """The reply as a Django email (so any Django mail backend can send it) and its Message-ID."""
    domain = _domain(config.address)
    message_id = make_message_id(message, domain)
    language = reply_language(message)
    parent = message.in_reply_to if _MSGID.match(message.in_reply_to) else ""
    with translation.override(language):
        subject = reply_subject(
            message.conversation_subject, message.conversation_number, is_reply=bool(message.in_reply_to)
        )
        text, html = compose_body(config, message, language)
    sender_name = _one_line(config.from_name or message.shop_name)
    number = message.conversation_number
    answer_to = reply_address(channel.inbound_address or config.address, channel.tenant_id, number)
    headers = {
        "Message-ID": message_id,
        "Date": format_datetime(message.created_at.astimezone(_zone(message.shop_time_zone))),
        # A person wrote this (RFC 3834): out-of-office replies to it are fine and expected.
        "Auto-Submitted": "no",
    }
    if parent:
        headers["In-Reply-To"] = parent
    references = thread_references(message)
    if references:
        headers["References"] = " ".join(references)
    if language:
        headers["Content-Language"] = language
    mail = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=formataddr((sender_name, config.address)),
        to=[formataddr((_one_line(message.customer_name), message.recipient))],
        reply_to=[formataddr((sender_name, answer_to))],
        headers=headers,
    )
    mail.attach_alternative(html, "text/html")
    for item in message.attachments:
        filename = _filename(str(item.get("filename") or "attachment"))
        try:
            data = Path(item["path"]).read_bytes()
        except (OSError, KeyError) as exc:
            # Retrying cannot bring a deleted file back.
            raise TransportError(
                f"The attachment {filename} cannot be read: {getattr(exc, 'strerror', None) or exc}",
                permanent=True,
            ) from None
        content_type = str(item.get("content_type") or "").lower()
        mail.attach(filename, data, content_type if _MIME_TYPE.match(content_type) else None)
    return mail, message_id


def make_message_id(message: OutboundMessage, domain: str) -> str:
    """<20261123101500.k3x9…@shop.example>: the same for every attempt of one delivery, unguessable
    (replies are threaded by it, so nobody may predict the id of another customer's message)."""
    key = hashlib.sha256(b"frontdesk-message-id:" + settings.SECRET_KEY.encode()).digest()
    mac = hmac.new(key, f"{message.delivery_id}:{message.message_id}".encode(), hashlib.sha256).digest()
    token = base64.b32encode(mac).decode().lower().rstrip("=")[:24]
    return f"<{message.created_at.astimezone(dt.UTC):%Y%m%d%H%M%S}.{token}@{domain}>"


def reply_subject(subject: str, number: int, *, is_reply: bool = True) -> str:
    """ "Re: <subject> [#<number>]", without stacking "Re: Re:" or repeating conversation references."""
    clean = _REPLY_PREFIX.sub("", _SUBJECT_REF.sub("", subject))
    clean = " ".join(clean.split()) or _("Your message")
    return f"{'Re: ' if is_reply else ''}{clean} [#{number}]"


def thread_references(message: OutboundMessage) -> list[str]:
    """The References header: the thread's message ids, oldest first, the one answered last."""
    ids = [i for i in dict.fromkeys(message.references) if _MSGID.match(i)]
    if _MSGID.match(message.in_reply_to):
        ids = [i for i in ids if i != message.in_reply_to] + [message.in_reply_to]
    if len(ids) > MAX_REFERENCES:
        ids = ids[:1] + ids[-(MAX_REFERENCES - 1) :]
    return ids


def reply_language(message: OutboundMessage) -> str:
    """The language Frontdesk's own words (subject, quote line) are written in."""
    offered = dict(settings.LANGUAGES)
    for candidate in (message.language, message.shop_language):
        candidate = candidate.lower()
        for code in (candidate, candidate.split("-")[0]):
            if code in offered:
                return code
    return settings.LANGUAGE_CODE


def pick_language(texts: dict[str, str], *languages: str) -> str:
    """The text for the first of `languages` it has (exactly, then by primary tag), else any."""
    by_code = {code.lower(): text for code, text in texts.items() if text.strip()}
    for language in languages:
        language = language.lower()
        for code in (language, language.split("-")[0]):
            if code and code in by_code:
                return by_code[code]
    return next(iter(by_code.values()), "")


def compose_body(config: Config, message: OutboundMessage, language: str) -> tuple[str, str]:
    """The plain-text and HTML bodies: header, the agent's text, signature, footer, then the quote.

    The HTML is built from the plain text only (escaped, paragraphs, line breaks, links), so
    nothing an agent or a customer typed becomes markup.
    """
    values = {
        "customer_name": message.customer_name,
        "agent_name": message.author_name,
        "shop_name": message.shop_name,
        "conversation_number": str(message.conversation_number),
    }
    languages = (message.language, message.shop_language)
    header = _fill(_lines(pick_language(config.reply_header, *languages)), values).strip()
    footer = _fill(_lines(pick_language(config.reply_footer, *languages)), values).strip()
    body = _lines(message.text).strip()
    signature = _lines(message.signature).strip()
    # A chat continued by email carries the chat so far instead of the last message.
    quote = _lines(message.transcript or message.replied_text).strip()
    if len(quote) > MAX_QUOTE_CHARS:
        quote = quote[:MAX_QUOTE_CHARS].rstrip() + " […]"
    attribution = _attribution(message) if quote else ""
    if message.transcript:
        attribution = _("Our chat so far:")

    text_parts = [p for p in (header, body) if p]
    sign_off = [p for p in (signature, footer) if p]
    if sign_off:
        # "-- " is the signature separator: clients grey it out and leave it out of replies.
        text_parts.append("-- \n" + "\n\n".join(sign_off))
    if quote:
        quoted = "\n".join(f"> {line}" if line else ">" for line in quote.split("\n"))
        text_parts.append(f"{attribution}\n{quoted}")
    text = "\n\n".join(text_parts) + "\n"

    html_parts = [
        f'<div class="frontdesk-header">{_html_text(header)}</div>' if header else "",
        f'<div class="frontdesk-text">{_html_text(body)}</div>' if body else "",
        (
            f'<div class="frontdesk-signature" style="color:#4b5563">{_html_text(signature)}</div>'
            if signature
            else ""
        ),
        (
            f'<div class="frontdesk-footer" style="color:#6b7280;font-size:13px">{_html_text(footer)}</div>'
            if footer
            else ""
        ),
    ]
    if quote:
        # Gmail's quote markup: Gmail and most clients collapse it, and reply parsers strip it.
        html_parts.append(
            '<div class="gmail_quote"><div class="gmail_attr">'
            f"{escape(attribution)}</div>"
            '<blockquote class="gmail_quote" type="cite" '
            'style="margin:0 0 0 .8ex;border-left:1px solid #ccc;padding-left:1ex">'
            f"{_html_text(quote)}</blockquote></div>"
        )
    html = (
        f'<!DOCTYPE html>\n<html lang="{escape(language)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head>\n'
        '<body style="font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;'
        'font-size:15px;line-height:1.5;color:#111827">\n'
        + "\n".join(p for p in html_parts if p)
        + "\n</body></html>\n"
    )
    return text, html


def _attribution(message: OutboundMessage) -> str:
    name = message.customer_name.strip() or message.recipient
    if message.replied_at is None:
        return _("%(name)s wrote:") % {"name": _one_line(name)}
    when = message.replied_at.astimezone(_zone(message.shop_time_zone))
    return _("On %(date)s, %(name)s wrote:") % {
        "date": formats.date_format(when, "DATETIME_FORMAT"),
        "name": _one_line(name),
    }


def _html_text(text: str) -> str:
    """Plain text as HTML: escaped, blank lines as paragraphs, newlines as <br>, links clickable."""
    paragraphs = [p.strip("\n") for p in _PARAGRAPHS.split(text) if p.strip()]
    return "".join(
        '<p style="margin:0 0 1em">'
        + "<br>\n".join(urlize(line, nofollow=False, autoescape=True) for line in p.split("\n"))
        + "</p>"
        for p in paragraphs
    )


def _fill(template: str, values: dict[str, str]) -> str:
    """Replace the known {placeholders}; any other brace is left as the admin typed it."""
    for name in _PLACEHOLDERS:
        template = template.replace("{" + name + "}", values.get(name, ""))
    return template


def _lines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _one_line(text: str) -> str:
    """A display name for a header: no line breaks or control characters (header injection)."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())[:200]


def _filename(name: str) -> str:
    name = _one_line(name.replace("\\", "/").rsplit("/", 1)[-1]).strip(". ")
    return name[:200] or "attachment"


def _domain(address: str) -> str:
    domain = address.rpartition("@")[2].strip().lower().rstrip(".")
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        ascii_domain = ""
    return ascii_domain if re.fullmatch(r"[a-z0-9.-]+", ascii_domain) else str(DNS_NAME)


def envelope_address(address: str) -> str:
    """An address for SMTP's MAIL FROM / RCPT TO: the domain in its ASCII (IDNA) form."""
    local, _at, domain = address.strip().rpartition("@")
    with contextlib.suppress(UnicodeError):
        domain = domain.encode("idna").decode("ascii")
    return f"{local}@{domain}"


def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


# --- Sending -------------------------------------------------------------------------------------


def tls_context() -> ssl.SSLContext:
    """Certificates are verified (system CAs plus FRONTDESK_SMTP_CA_FILE) unless an operator
    turned verification off with FRONTDESK_SMTP_VERIFY_TLS=false."""
    context = ssl.create_default_context()
    if settings.FRONTDESK_SMTP_CA_FILE:
        context.load_verify_locations(cafile=settings.FRONTDESK_SMTP_CA_FILE)
    if not settings.FRONTDESK_SMTP_VERIFY_TLS:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _send_smtp(channel: Any, config: Config, mail: EmailMultiAlternatives, recipients: list[str]) -> None:
    try:
        # Django's MIME classes take a line separator (the stdlib stubs don't know).
        data = mail.message().as_bytes(linesep="\r\n")  # type: ignore[call-arg]
    except BadHeaderError as exc:
        raise TransportError(f"The message has an invalid header: {exc}", permanent=True) from None
    try:
        client = _connect(config)
        try:
            _sign_in(client, channel, config)
            options = ["BODY=8BITMIME"] if client.has_extn("8bitmime") else []
            refused = client.sendmail(
                envelope_address(config.address), recipients, data, mail_options=options
            )
        finally:
            _close(client)
    except TransportError:
        raise
    except (smtplib.SMTPException, OSError) as exc:
        raise smtp_error(exc) from None
    if refused:
        # Only possible with several recipients, some accepted: the message went out and is not
        # sent again (the accepted ones would get it twice); the refusals are logged.
        log.warning("email.recipients_refused", channel=channel.pk, refused=str(refused)[:500])


def _connect(config: Config) -> smtplib.SMTP:
    timeout = settings.FRONTDESK_DELIVERY_TIMEOUT_SECONDS
    local_hostname = str(DNS_NAME)
    if config.smtp_security == Security.SSL:
        return smtplib.SMTP_SSL(
            config.smtp_host,
            config.smtp_port,
            local_hostname=local_hostname,
            timeout=timeout,
            context=tls_context(),
        )
    client = smtplib.SMTP(config.smtp_host, config.smtp_port, local_hostname=local_hostname, timeout=timeout)
    if config.smtp_security == Security.STARTTLS:
        try:
            client.ehlo()
            if not client.has_extn("starttls"):
                # Never fall back to sending (and signing in) in the clear.
                raise TransportError(
                    f"The mail server {config.smtp_host} does not offer STARTTLS; "
                    "choose SSL or check the port",
                    permanent=True,
                    disable_channel=True,
                )
            client.starttls(context=tls_context())
            client.ehlo()
        except BaseException:
            _close(client)
            raise
    return client


class _XOAuth2:
    """smtplib's authobject for SASL XOAUTH2: the token first; an empty line to the server's error
    challenge (RFC 7628), after which the server answers 535."""

    def __init__(self, username: str, token: str) -> None:
        self.initial = oauth.xoauth2_string(username, token)
        self.sent = False

    def __call__(self, challenge: bytes | None = None) -> str:
        if self.sent:
            return ""
        self.sent = True
        return self.initial


def _sign_in(client: smtplib.SMTP, channel: Any, config: Config) -> None:
    if config.smtp_auth == "xoauth2":
        user = config.smtp_username or config.address
        try:
            client.auth("XOAUTH2", _XOAuth2(user, oauth.access_token(channel)), initial_response_ok=True)
        except smtplib.SMTPAuthenticationError as exc:
            if exc.smtp_code < 500:
                raise
            # A cached token the provider no longer takes (revoked, expired early): try once more
            # with a token fresh from the refresh token before calling the sign-in refused.
            oauth.forget_token(channel)
            client.auth("XOAUTH2", _XOAuth2(user, oauth.access_token(channel)), initial_response_ok=True)
    elif config.smtp_username:
        client.login(config.smtp_username, channel.secrets.get("smtp_password", ""))


def _close(client: smtplib.SMTP) -> None:
    # Once the server accepted the message, a failing QUIT changes nothing: it went out.
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


def _send_with_installation_backend(mail: EmailMultiAlternatives) -> None:
    """No SMTP server on the channel: the installation's mail settings (EMAIL_URL, EMAIL_BACKEND,
    e.g. an django-anymail provider)."""
    try:
        connection = get_connection(fail_silently=False, timeout=settings.FRONTDESK_DELIVERY_TIMEOUT_SECONDS)
        sent = connection.send_messages([mail])
    except BadHeaderError as exc:
        raise TransportError(f"The message has an invalid header: {exc}", permanent=True) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise smtp_error(exc) from None
    if not sent:
        raise TransportError("The installation's mail backend did not send the message")


def _answer(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return " ".join(text.split())[:1000]


def smtp_error(exc: BaseException) -> TransportError:
    """Sort an smtplib / socket error: 4xx and network trouble are transient, 5xx permanent;
    a refused sign-in also marks the channel so an admin sees it."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        answers = list(exc.recipients.items())
        detail = "; ".join(f"{rcpt}: {code} {_answer(reply)}" for rcpt, (code, reply) in answers)
        permanent = bool(answers) and all(code >= 500 for _rcpt, (code, _reply) in answers)
        return TransportError(f"The mail server refused the recipient: {detail}", permanent=permanent)
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        detail = f"{exc.smtp_code} {_answer(exc.smtp_error)}"
        if 400 <= exc.smtp_code < 500:  # "454 temporary authentication failure"
            return TransportError(f"The mail server could not check the sign-in now: {detail}")
        return TransportError(
            f"The mail server refused the sign-in: {detail}", permanent=True, disable_channel=True
        )
    if isinstance(exc, smtplib.SMTPSenderRefused):
        detail = f"{exc.smtp_code} {_answer(exc.smtp_error)}"
        permanent = exc.smtp_code >= 500
        # 552 at MAIL FROM is about this message's size; other refusals of the sender are about
        # the channel's address (not allowed to send as it) and hit every message.
        return TransportError(
            f"The mail server refused the sender {exc.sender}: {detail}",
            permanent=permanent,
            disable_channel=permanent and exc.smtp_code != 552,
        )
    if isinstance(exc, smtplib.SMTPDataError):
        detail = f"{exc.smtp_code} {_answer(exc.smtp_error)}"
        return TransportError(
            f"The mail server refused the message: {detail}", permanent=exc.smtp_code >= 500
        )
    if isinstance(exc, smtplib.SMTPResponseException):  # greeting, HELO and other answers
        detail = f"{exc.smtp_code} {_answer(exc.smtp_error)}"
        return TransportError(f"The mail server answered {detail}", permanent=exc.smtp_code >= 500)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return TransportError(
            f"The mail server does not offer what the channel's settings need: {exc}",
            permanent=True,
            disable_channel=True,
        )
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return TransportError(f"The mail server closed the connection: {exc or 'no reason given'}")
    if isinstance(exc, ssl.SSLCertVerificationError):
        # Often a setting to fix (a private CA: FRONTDESK_SMTP_CA_FILE), sometimes an expired
        # certificate the server's admin renews: retried, and shown on the channel meanwhile.
        return TransportError(
            f"The mail server's certificate cannot be trusted: {exc.verify_message or exc}",
            disable_channel=True,
        )
    if isinstance(exc, TimeoutError):
        return TransportError("The mail server did not answer in time")
    if isinstance(exc, ConnectionRefusedError):
        return TransportError("The mail server refused the connection (is it running, is the port right?)")
    if isinstance(exc, OSError):
        return TransportError(f"The mail server cannot be reached: {exc.strerror or exc}")
    return TransportError(f"Sending failed: {exc}")
