"""SMS through Twilio's Programmable Messaging API.

Inbound: Twilio POSTs each received SMS form-encoded (`MessageSid`, `AccountSid`, `From`, `To`,
`Body`, `NumMedia`, `MediaUrl0`…) to the channel's webhook URL, signed with `X-Twilio-Signature`:
base64(HMAC-SHA1(auth token, the URL Twilio called + every POST parameter name and value, sorted
by name)). The same URL receives the status callbacks of the replies we send (`MessageStatus`).

Outbound: `POST {api_base_url}/2010-04-01/Accounts/{AccountSid}/Messages.json`, HTTP Basic auth
(account SID, auth token), form-encoded `To`, `From` or `MessagingServiceSid`, `Body`,
`StatusCallback`; Twilio answers the Message resource as JSON (`sid`, `status`), or an error
`{"code": 21211, "message": "…", "status": 400}`.

The wire format is documented in docs/channels.md; keep the two in step.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import httpx
import pydantic
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from frontdesk.desk.lib.addresses import InvalidAddress, normalize_phone

from .. import safehttp
from ..base import (
    BounceReport,
    Capabilities,
    ChannelAdapter,
    InboundContact,
    InboundMessage,
    InboundRejected,
    OutboundMessage,
    RawPayload,
    TransportError,
)

SIGNATURE_HEADER = "x-twilio-signature"
# Twilio's limit for one message's Body (it splits it into segments itself).
MAX_LENGTH = 1600
# Status callbacks that mean the SMS will never arrive; the others (queued, sent, delivered…) are
# progress the contract has no place for yet.
FAILED_STATUSES = frozenset({"failed", "undelivered"})
# Twilio error codes that mean the account itself cannot send (credentials, suspended account).
ACCOUNT_ERRORS = frozenset({20003, 20005, 20404})
MAX_MEDIA = 10  # Twilio's own limit per MMS
ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
SERVICE_SID = re.compile(r"^MG[0-9a-fA-F]{32}$")
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


class Config(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")

    account_sid: str = pydantic.Field(
        title=gettext_noop("Account SID"),
        description=gettext_noop("From the Twilio Console's home page: AC followed by 32 characters."),
    )
    from_number: str = pydantic.Field(
        "",
        title=gettext_noop("Sender number"),
        description=gettext_noop(
            "The shop's Twilio phone number in international format (+48…). "
            "Leave empty when sending through a Messaging Service."
        ),
    )
    messaging_service_sid: str = pydantic.Field(
        "",
        title=gettext_noop("Messaging Service SID"),
        description=gettext_noop(
            "Optional: MG followed by 32 characters; used instead of the sender number."
        ),
    )
    api_base_url: str = pydantic.Field(
        "https://api.twilio.com",
        title=gettext_noop("API address"),
        description=gettext_noop("Twilio's REST API. Change it only for a Twilio-compatible provider."),
    )

    @pydantic.field_validator("account_sid")
    @classmethod
    def _account_sid(cls, value: str) -> str:
        value = value.strip()
        if not ACCOUNT_SID.match(value):
            raise ValueError(_("An account SID is AC followed by 32 hexadecimal characters"))
        return value

    @pydantic.field_validator("from_number")
    @classmethod
    def _from_number(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return value
        if not value.startswith("+"):
            raise ValueError(_("Use the international format, e.g. +48601234567"))
        try:
            return normalize_phone(value)
        except InvalidAddress as exc:
            raise ValueError(str(exc)) from None

    @pydantic.field_validator("messaging_service_sid")
    @classmethod
    def _service_sid(cls, value: str) -> str:
        value = value.strip()
        if value and not SERVICE_SID.match(value):
            raise ValueError(_("A Messaging Service SID is MG followed by 32 hexadecimal characters"))
        return value

    @pydantic.field_validator("api_base_url")
    @classmethod
    def _safe_url(cls, value: str) -> str:
        try:
            return safehttp.validate_url(value).rstrip("/")
        except safehttp.UnsafeAddress as exc:
            raise ValueError(str(exc)) from None

    @pydantic.model_validator(mode="after")
    def _has_sender(self) -> Config:
        if not (self.from_number or self.messaging_service_sid):
            raise ValueError(_("Give the sender number or a Messaging Service SID"))
        return self


def signature(auth_token: str, url: str, params: list[tuple[str, str]]) -> str:
    """X-Twilio-Signature for a form POST: names sorted, each name followed by its value(s).

    A repeated name contributes each distinct value, sorted, as Twilio's own helper libraries do.
    """
    values: dict[str, set[str]] = {}
    for name, value in params:
        values.setdefault(name, set()).add(value)
    data = url + "".join(name + value for name in sorted(values) for value in sorted(values[name]))
    mac = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(mac).decode()


def _rejected_field(message: str, field: str, status: int = 400, code: str = "invalid") -> InboundRejected:
    return InboundRejected(message, status=status, code=code, fields={field: [message]})


class SmsChannel(ChannelAdapter):
    kind = "sms"
    label = gettext_noop("SMS (Twilio)")
    Config = Config
    capabilities = Capabilities(
        recipient_kind="phone", max_length=MAX_LENGTH, attachments=False, thread_by_customer=True
    )
    secret_fields = ("auth_token",)

    def webhook_url(self, channel: Any) -> str:
        """The public address Twilio calls; also the URL its signatures are computed over."""
        return f"{settings.FRONTDESK_BASE_URL}/sms/{channel.public_id}/"

    def public_urls(self, channel: Any) -> dict[str, str]:
        return {"webhook_url": self.webhook_url(channel)}

    def parse_inbound(self, channel: Any, payload: RawPayload) -> list[InboundMessage]:
        token = channel.secrets.get("auth_token", "")
        if not token:
            raise InboundRejected(
                _("The channel has no Twilio auth token; enter it in the channel's settings"),
                status=409,
                code="no_secret",
            )
        media_type = payload.content_type.split(";")[0].strip().lower()
        if media_type != "application/x-www-form-urlencoded":
            raise InboundRejected(
                _("Send Content-Type: application/x-www-form-urlencoded"),
                status=415,
                code="unsupported_media_type",
            )
        try:
            params = parse_qsl(payload.body.decode(), keep_blank_values=True, max_num_fields=200)
        except (UnicodeDecodeError, ValueError):
            raise InboundRejected(_("The form body is malformed"), status=400, code="malformed") from None
        given = payload.headers.get(SIGNATURE_HEADER, "")
        expected = signature(token, self.webhook_url(channel), params)
        # Constant time: a forger learns nothing from how long the comparison took.
        if not given or not hmac.compare_digest(given.encode(), expected.encode()):
            raise InboundRejected(
                _("The X-Twilio-Signature header is missing or does not match"),
                status=401,
                code="bad_signature",
            )
        form = dict(params)
        config = self.config(channel)
        if form.get("AccountSid", "") != config.account_sid:
            raise _rejected_field(
                _("The message is for another Twilio account"), "AccountSid", status=403, code="wrong_account"
            )
        sid = form.get("MessageSid", "").strip()
        if not sid:
            raise _rejected_field(_("MessageSid is missing"), "MessageSid")
        status = form.get("MessageStatus", "").strip().lower()
        if status and status != "received":
            return self._status_callback(channel, sid, status, form)
        return [self._customer_message(channel, sid, form)]

    def _customer_message(self, channel: Any, sid: str, form: dict[str, str]) -> InboundMessage:
        if "From" not in form or not form["From"].strip():
            raise _rejected_field(_("From is missing: the sender's phone number"), "From")
        if "Body" not in form:
            raise _rejected_field(_("Body is missing: the text of the SMS"), "Body")
        try:
            phone = normalize_phone(form["From"].strip(), channel.tenant.country or "PL")
        except InvalidAddress as exc:
            raise _rejected_field(str(exc), "From", status=422) from None
        try:
            media_count = min(int(form.get("NumMedia") or 0), MAX_MEDIA)
        except ValueError:
            media_count = 0
        media = [form[f"MediaUrl{i}"] for i in range(media_count) if form.get(f"MediaUrl{i}")]
        text = form["Body"]
        if not text.strip() and not media:
            raise _rejected_field(_("The SMS is empty"), "Body")
        if media:
            # Pictures (MMS) are not downloaded: Twilio serves them behind the account's credentials
            # and a redirect. Their addresses stay in the text, so an agent can open them in Twilio.
            text = "\n".join([text.rstrip(), *media]).strip()
        return InboundMessage(
            dedupe_key=sid,
            contact=InboundContact(phone=phone),
            text=text,
        )

    def _status_callback(
        self, channel: Any, sid: str, status: str, form: dict[str, str]
    ) -> list[InboundMessage]:
        """A reply's delivery status. Only failures change anything: the reply is marked failed."""
        if status not in FAILED_STATUSES:
            return []
        code = form.get("ErrorCode", "").strip()
        detail = (
            _("Twilio reports the SMS %(status)s (error %(code)s)") % {"status": status, "code": code}
            if code
            else _("Twilio reports the SMS %(status)s") % {"status": status}
        )
        return [
            InboundMessage(
                # Not the SID itself: that is the reply's own provider id on this channel.
                dedupe_key=f"status:{sid}:{status}",
                # No customer: a status about a message that is not ours (or not stored yet) is
                # then refused and kept raw, rather than opening a conversation with Twilio's words.
                contact=InboundContact(),
                text=detail,
                is_auto_reply=True,
                bounce=BounceReport(
                    original_message_ids=[sid],
                    recipients=[form.get("To", "").strip()],
                    status=code,
                    action="failed",
                    diagnostic=detail,
                ),
            )
        ]

    def send(self, channel: Any, message: OutboundMessage) -> str:
        try:
            config = self.config(channel)
        except pydantic.ValidationError as exc:
            reason = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
            raise TransportError(
                f"The channel's settings are not valid: {reason}", permanent=True, disable_channel=True
            ) from None
        token = channel.secrets.get("auth_token", "")
        if not token:
            raise TransportError(
                f"The channel {channel.name} has no Twilio auth token", permanent=True, disable_channel=True
            )
        form = {"To": message.recipient, "Body": message.text}
        if config.messaging_service_sid:
            form["MessagingServiceSid"] = config.messaging_service_sid
        else:
            form["From"] = config.from_number
        form["StatusCallback"] = self.webhook_url(channel)
        url = f"{config.api_base_url}/2010-04-01/Accounts/{quote(config.account_sid)}/Messages.json"
        credentials = base64.b64encode(f"{config.account_sid}:{token}".encode()).decode()
        headers = {
            "Authorization": f"Basic {credentials}",
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        }
        try:
            answer = safehttp.post(
                url, urlencode(form).encode(), headers, settings.FRONTDESK_DELIVERY_TIMEOUT_SECONDS
            )
        except safehttp.UnsafeAddress as exc:
            raise TransportError(
                f"Refused to connect to {url}: {exc}", permanent=True, disable_channel=True
            ) from None
        except safehttp.Unresolvable as exc:
            raise TransportError(str(exc)) from None
        except httpx.TimeoutException:
            raise TransportError("No answer from Twilio within the timeout") from None
        except (httpx.HTTPError, OSError) as exc:
            raise TransportError(f"Could not reach Twilio: {exc}") from None
        return _provider_id(answer)


def _provider_id(answer: safehttp.Answer) -> str:
    """The message SID from Twilio's answer, or the TransportError its error calls for."""
    body = _json(answer.text)
    status = answer.status
    if 200 <= status < 300:
        sid = str(body.get("sid") or "")
        if not sid:
            raise TransportError(f"Twilio answered HTTP {status} without a message SID", permanent=True)
        return sid[:300]
    code = body.get("code")
    text = str(body.get("message") or answer.text[:300]).strip()
    detail = (
        f"Twilio error {code}: {text} (HTTP {status})" if code else f"Twilio: HTTP {status} {text}".strip()
    )
    if status == 429 or status >= 500:
        raise TransportError(detail, retry_after=_retry_after(answer.headers.get("retry-after", "")))
    if status in (401, 403) or code in ACCOUNT_ERRORS:
        # Wrong or revoked credentials, or a suspended account: no reply can go out until fixed.
        raise TransportError(detail, permanent=True, disable_channel=True)
    # 400 (21211 invalid number, 21610 the customer opted out…), other 4xx: this reply never will.
    raise TransportError(detail, permanent=True)


def _json(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text) if text.strip() else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _retry_after(value: str) -> float | None:
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if 0 < seconds <= 6 * 3600 else None
