"""The channel adapter contract.

An adapter translates between one kind of channel and the core. It parses what the provider sends
and sends what the core decided; it never looks up or writes customers, conversations or messages.

    inbound:  request → RawInbound (stored first) → adapter.parse_inbound → [InboundMessage]
              → desk.actions.inbound.do_receive_inbound (identity, customer, threading, message, events)
    outbound: desk.actions reply → Delivery (outbox) → worker → adapter.send → provider id

Read docs/channels.md before writing an adapter.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import pydantic
from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from frontdesk.desk.models import Channel


class TransportError(Exception):
    """Sending failed. Transient errors are retried with backoff; permanent ones fail the delivery.

    `disable_channel` says the channel itself can no longer work (revoked credentials…): it is
    marked with the error so an admin sees it. `retry_after` (seconds) delays the next attempt
    at least that long when the provider said so.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        disable_channel: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.disable_channel = disable_channel
        # Seconds the provider asked us to wait (HTTP Retry-After); the backoff is at least this.
        self.retry_after = retry_after


class InboundRejected(Exception):
    """The payload can't be accepted: a bad signature, malformed body, missing fields.

    `status` is the HTTP status answered to the sender; the raw payload is kept, marked rejected.
    """

    def __init__(
        self, message: str, *, status: int = 400, code: str = "bad_request", fields: Any = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.fields = fields


@dataclass(frozen=True)
class RawPayload:
    """What a channel received, as stored in RawInbound, so parsing can be re-run later."""

    body: bytes
    content_type: str = ""
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    remote_addr: str = ""
    # When it was received. Freshness checks (signature timestamps) compare with this, not with the
    # time of parsing, so a payload re-processed later by the sweeper still verifies.
    received_at: dt.datetime | None = None


@dataclass
class InboundContact:
    """Who wrote, as the channel knows them. The core turns this into a customer."""

    name: str = ""
    email: str = ""
    phone: str = ""
    external_id: str = ""
    language: str = ""
    # Other identities the channel vouches for: [("telegram", "12345")].
    identities: list[tuple[str, str]] = field(default_factory=list)
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class InboundAttachment:
    filename: str
    content_type: str
    data: bytes
    content_id: str = ""


@dataclass
class BounceReport:
    """A delivery status notification (bounce) about a message the shop sent."""

    # Message-IDs (provider ids) of our messages it reports on, from the DSN or the quoted headers.
    original_message_ids: list[str]
    recipients: list[str] = field(default_factory=list)
    status: str = ""  # enhanced status code, e.g. "5.1.1"
    action: str = "failed"  # "failed" or "delayed" (RFC 3464)
    diagnostic: str = ""  # the remote server's answer

    @property
    def permanent(self) -> bool:
        return self.action == "failed" and not self.status.startswith("4")


@dataclass
class InboundMessage:
    """One customer message, parsed. `dedupe_key` must be stable for the same message: receiving
    the same key twice on one channel never creates a second message."""

    dedupe_key: str
    contact: InboundContact
    # What the customer wrote now; earlier messages they quoted go to `quoted_text` (shown collapsed).
    text: str = ""
    quoted_text: str = ""
    html: str = ""  # untrusted; the core sanitises it
    subject: str = ""
    sent_at: dt.datetime | None = None
    # Threading hints, strongest first: provider ids of earlier messages this one answers,
    # an explicit conversation number, the channel's own thread id.
    in_reply_to: list[str] = field(default_factory=list)
    conversation_number: int | None = None
    # A number proven by a signed per-conversation reply address (support+c12-k3x9@…): followed
    # even when the customer writes from another address.
    verified_conversation_number: int | None = None
    external_thread_id: str = ""
    attachments: list[InboundAttachment] = field(default_factory=list)
    language: str = ""
    # Auto-replies and bounces are stored but never answered automatically.
    is_auto_reply: bool = False
    # Set for a bounce: the core links it to the failed delivery instead of opening a conversation.
    bounce: BounceReport | None = None
    # The shop's words the customer answers (a chat invitation): stored before the message as the
    # shop's automatic message when the message opens a new conversation.
    prompt: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Capabilities:
    # Which customer identity kind this channel sends to ("email", "phone", "external"…).
    recipient_kind: str
    can_send: bool = True
    # How long after the customer's last message the channel may still answer (WhatsApp: 24 h).
    reply_window: dt.timedelta | None = None
    max_length: int | None = None
    attachments: bool = True
    # Continue the customer's open conversation in this channel when no thread hint is given
    # (chat-like channels); False opens a new conversation each time (contact forms, email).
    thread_by_customer: bool = False
    # A live channel (chat): new conversations are offered to an available agent with free
    # capacity, and passed on when nobody answers in time (desk.actions.routing).
    live: bool = False


@dataclass(frozen=True)
class OutboundMessage:
    """What the worker hands to `send`: everything needed, already read from the database."""

    delivery_id: int
    message_id: int
    conversation_number: int
    conversation_subject: str
    recipient: str
    text: str
    html: str
    author_name: str
    customer_name: str
    external_thread_id: str
    # The provider id of the customer's latest message, for channels that thread replies.
    in_reply_to: str
    attachments: list[dict[str, Any]]
    created_at: dt.datetime
    # The conversation's language ("pl"), for what the adapter itself writes (subjects, footers).
    language: str = ""
    # Channels that thread by message ids (email): the provider ids of the conversation's
    # messages, oldest first, for the References header.
    references: list[str] = field(default_factory=list)
    # The author's own sign-off (Membership.signature, plain text), for channels that add one.
    signature: str = ""
    # The shop: its name (a sender name when the channel has none), default language and time zone.
    shop_name: str = ""
    shop_language: str = ""
    shop_time_zone: str = ""
    # The customer's message being answered (the one `in_reply_to` names), for quoting it.
    replied_text: str = ""
    replied_at: dt.datetime | None = None
    # When a live chat continues in another channel (the visitor left): the chat so far, as plain
    # text lines "name (time): text", for the adapter to include under the reply.
    transcript: str = ""


class ChannelAdapter:
    """Base of every adapter. Subclasses set `kind`, `label`, `Config`, `capabilities`."""

    kind: ClassVar[str]
    label: ClassVar[str]
    # Validates Channel.config. Secrets are not part of it: see `secret_fields`.
    Config: ClassVar[type[pydantic.BaseModel]]
    capabilities: ClassVar[Capabilities]
    # Names of secrets the channel needs, generated on creation when `generate_secrets` says so.
    secret_fields: ClassVar[tuple[str, ...]] = ()

    def parse_inbound(self, channel: Channel, payload: RawPayload) -> list[InboundMessage]:
        """Verify and parse a received payload. Pure: no database writes. Raise InboundRejected."""
        raise InboundRejected(
            _("This channel does not accept inbound messages"), status=404, code="not_found"
        )

    def send(self, channel: Channel, message: OutboundMessage) -> str:
        """Send and return the provider's id for the message. Raise TransportError on failure."""
        raise TransportError("This channel cannot send", permanent=True)

    def generate_secrets(self) -> dict[str, str]:
        """Secrets created with the channel (signing keys). Default: none."""
        return {}

    def validate_config(self, data: dict[str, Any]) -> dict[str, Any]:
        return self.Config.model_validate(data).model_dump(mode="json")

    def config(self, channel: Channel) -> Any:
        return self.Config.model_validate(channel.config)

    def inbound_address(self, config: dict[str, Any]) -> str:
        """The address customers write to, from a validated config ("" when the kind has none).
        Stored on Channel.inbound_address to route received mail and recognise the shop's own."""
        return ""

    def public_urls(self, channel: Channel) -> dict[str, str]:
        """Addresses an admin needs to connect the channel (webhook URL, embed snippet…)."""
        return {}
