"""Request and response bodies of the REST API. Field descriptions become the API reference.

Request bodies forbid unknown fields, so a misspelt field is a 422 naming it instead of a silent no-op.
PATCH bodies change only the fields they contain.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import uuid
import zoneinfo
from typing import Annotated, Any, Literal

from ninja import Path, Schema
from pydantic import AwareDatetime, BeforeValidator, ConfigDict, Field, field_validator
from pydantic.json_schema import SkipJsonSchema

from ..models import (
    Attachment,
    AuthorKind,
    Availability,
    Channel,
    Conversation,
    Customer,
    Direction,
    IdentityKind,
    Invitation,
    Membership,
    Message,
    Priority,
    Role,
    Status,
    Team,
)

LANGUAGE_PATTERN = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$"
COLOR_PATTERN = r"^#[0-9a-fA-F]{6}$"
# Database ids and conversation numbers: positive 64-bit integers.
ObjectId = Annotated[int, Field(ge=1, le=2**63 - 1)]


def _iso_text(value: Any) -> Any:
    # Pydantic would also read numbers as Unix timestamps; the API speaks ISO 8601 only.
    if isinstance(value, (int, float)) or (isinstance(value, str) and "-" not in value):
        raise ValueError("Use an ISO 8601 time with a time zone, e.g. 2025-05-01T10:00:00Z.")
    return value


# A query parameter left out is None; null is not part of its documented type (queries cannot send it).
NotGiven = SkipJsonSchema[None]

# An ISO 8601 time with a time zone (numbers are not read as timestamps).
Timestamp = Annotated[AwareDatetime, BeforeValidator(_iso_text)]


def absent(**kwargs: Any) -> Any:
    """A body field that may be left out (PATCH: not changed) but, when given, must have its type:
    null is refused unless the type allows it."""
    return Field(None, **kwargs)


# Path parameters (the URL converter already admits digits only).
ConversationNumber = Annotated[int, Path(description="The conversation's number: its reference in the shop.")]
MessageId = Annotated[int, Path(description="Message id.")]
CustomerId = Annotated[int, Path(description="Customer id.")]
IdentityId = Annotated[int, Path(description="Identity id (see the customer's `identities`).")]
TeamId = Annotated[int, Path(description="Team id.")]
TagId = Annotated[int, Path(description="Tag id.")]
MemberId = Annotated[int, Path(description="Member id.")]
InvitationId = Annotated[int, Path(description="Invitation id.")]
ChannelId = Annotated[int, Path(description="Channel id.")]

# --- Shared -----------------------------------------------------------------------------------------


class Input(Schema):
    """A request body: unknown fields are an error."""

    model_config = ConfigDict(extra="forbid")


def _check_time_zone(value: str | None) -> str | None:
    if value:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError("Unknown time zone; use an IANA name such as Europe/Warsaw.") from None
    return value


class MemberRef(Schema):
    id: int = Field(description="Member id (see /members).")
    name: str = Field(description="Display name.")
    email: str = Field(description="The member's sign-in email address.")

    @staticmethod
    def resolve_name(obj: Membership) -> str:
        return obj.display_name

    @staticmethod
    def resolve_email(obj: Membership) -> str:
        return obj.user.email


class TeamRef(Schema):
    id: int = Field(description="Team id (see /teams).")
    name: str = Field(description="Team name.")


class TagRef(Schema):
    id: int = Field(description="Tag id (see /tags).")
    name: str = Field(description="Tag name.")
    color: str = Field(description="Colour as #rrggbb.")


class ChannelRef(Schema):
    id: int = Field(description="Channel id (see /channels).")
    kind: str = Field(description="Channel kind: `api`, `form`, `email`, …")
    name: str = Field(description="The channel's name in the shop.")


class CustomerRef(Schema):
    id: int = Field(description="Customer id (see /customers).")
    name: str = Field(description="The customer's name, or their first address when no name is known.")

    @staticmethod
    def resolve_name(obj: Customer) -> str:
        return obj.display_name


# --- Conversations ----------------------------------------------------------------------------------


class ConversationOut(Schema):
    number: int = Field(description="The conversation's reference in the shop (what the customer sees).")
    subject: str = Field(description="Subject, from the first message or the channel.")
    status: Status = Field(
        description="new, open, pending (waiting on the customer), on_hold, resolved, closed."
    )
    priority: Priority = Field(description="low, normal, high or urgent.")
    language: str = Field(description="Language of the conversation (BCP 47 primary tag), if known.")
    customer: CustomerRef = Field(description="Who the shop is talking to.")
    channel: ChannelRef = Field(description="The channel the conversation started in.")
    reply_channel: ChannelRef | None = Field(
        description="Where replies go when the customer chose a channel; null: where they last wrote."
    )
    assignee: MemberRef | None = Field(description="The member it is assigned to, if any.")
    team: TeamRef | None = Field(description="The team it is assigned to, if any.")
    tags: list[TagRef] = Field(description="Its tags.")
    created_at: dt.datetime = Field(description="When it started.")
    updated_at: dt.datetime = Field(description="Last change of any kind (use with `updated_after`).")
    last_message_at: dt.datetime = Field(description="Time of the latest message or note.")
    last_inbound_at: dt.datetime | None = Field(description="When the customer last wrote.")
    waiting_since: dt.datetime | None = Field(
        description="Since when the customer waits for an answer; null when the shop spoke last."
    )
    first_response_at: dt.datetime | None = Field(description="When the shop first answered.")
    resolved_at: dt.datetime | None = Field(description="When it was resolved or closed.")
    snoozed_until: dt.datetime | None = Field(description="Hidden from the queue until then.")
    first_response_due: dt.datetime | None = Field(description="Service level: first answer due by.")
    next_response_due: dt.datetime | None = Field(description="Service level: next answer due by.")
    resolution_due: dt.datetime | None = Field(description="Service level: resolution due by.")
    promised_by: dt.datetime | None = Field(description="The answer time promised to the customer.")
    promise_kept: bool | None = Field(
        description="Whether the first answer came before the promised time; null until it came."
    )
    merged_into: int | None = Field(description="Number of the conversation this one was merged into.")
    previous: int | None = Field(
        description="Number of the closed conversation this one follows up, if it was opened that way."
    )

    @staticmethod
    def resolve_tags(obj: Conversation) -> list[Any]:
        return list(obj.tags.all())

    @staticmethod
    def resolve_merged_into(obj: Conversation) -> int | None:
        return obj.merged_into.number if obj.merged_into else None

    @staticmethod
    def resolve_previous(obj: Conversation) -> int | None:
        return obj.previous.number if obj.previous else None


class ConversationPage(Schema):
    items: list[ConversationOut] = Field(description="Conversations of this page.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class ConversationPatch(Input):
    """Only the fields present are changed, each through the same action the agent UI uses."""

    status: Status = absent(
        description="New status. A conversation cannot go back to `new`; resolving also ends a snooze."
    )
    priority: Priority = absent(description="New priority.")
    assignee: ObjectId | Literal["me"] | None = Field(
        None, description='Member id, "me" (the token\'s member), or null to unassign.'
    )
    team: ObjectId | None = Field(None, description="Team id, or null for no team.")
    tags: list[ObjectId] = absent(
        max_length=100, description="Tag ids: the conversation's tags become exactly these."
    )
    snoozed_until: Timestamp | None = Field(
        None, description="Hide from the queue until this time (with a time zone); null wakes it now."
    )
    reply_channel: ObjectId | None = Field(
        None,
        description="Channel id replies should go through (the customer's choice); null: where they wrote.",
    )


class ConversationMerge(Input):
    into: ObjectId = Field(
        description="Number of the conversation to merge this one into (same customer). Its messages "
        "move there; this one is closed and points at it."
    )


# --- Messages ---------------------------------------------------------------------------------------


class AttachmentOut(Schema):
    id: int = Field(description="Attachment id.")
    filename: str = Field(description="The file's name as sent (made safe for display).")
    content_type: str = Field(description="Its media type, e.g. application/pdf.")
    size: int = Field(description="Size in bytes.")


class MessageOut(Schema):
    id: int = Field(description="Message id.")
    conversation: int = Field(description="Number of the conversation the message belongs to.")
    direction: Direction = Field(
        description="in (from the customer), out (to the customer), note (internal)."
    )
    author_kind: AuthorKind = Field(description="customer, agent, system or bot.")
    author: MemberRef | None = Field(description="The member who wrote it (replies and notes).")
    customer: int | None = Field(description="Id of the customer who wrote it (inbound messages).")
    channel: ChannelRef | None = Field(description="Channel it came in or went out through; null for notes.")
    subject: str = Field(description="Subject line, for channels that have one.")
    text: str = Field(description="The message as plain text.")
    html: str = Field(description="Sanitised HTML, when the channel gave HTML.")
    language: str = Field(description="Detected language (BCP 47 primary tag), if known.")
    delivery_state: Literal["", "queued", "sent", "delivered", "failed"] = Field(
        description="For replies: queued, sent, delivered or failed (see delivery_error); empty otherwise."
    )
    delivery_error: str = Field(description="Why delivery failed, as the provider said.")
    attachments: list[AttachmentOut] = Field(description="Attached files.")
    mentions: list[int] = Field(description="Ids of the members @mentioned in a note.")
    created_at: dt.datetime = Field(description="When Frontdesk stored it.")
    sent_at: dt.datetime | None = Field(description="When the customer's channel says it was written.")

    @staticmethod
    def resolve_conversation(obj: Message) -> int:
        return obj.conversation.number

    @staticmethod
    def resolve_customer(obj: Message) -> int | None:
        return obj.customer_id

    @staticmethod
    def resolve_attachments(obj: Message) -> list[Attachment]:
        return list(obj.attachments.all())

    @staticmethod
    def resolve_mentions(obj: Message) -> list[int]:
        return [m.pk for m in obj.mentions.all()]


class MessagePage(Schema):
    items: list[MessageOut] = Field(description="Messages of this page.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class AttachmentIn(Input):
    filename: str = Field(
        min_length=1, max_length=255, description="The file's name, as the customer sees it."
    )
    content_type: str = Field(
        "application/octet-stream", max_length=150, description="Its media type, e.g. application/pdf."
    )
    data: str = Field(
        description="The file's bytes, base64-encoded.", json_schema_extra={"contentEncoding": "base64"}
    )

    @field_validator("data")
    @classmethod
    def _base64(cls, value: str) -> str:
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("Not valid base64.") from None
        return value

    def content(self) -> bytes:
        return base64.b64decode(self.data, validate=True)


class ReplyIn(Input):
    text: str = Field("", description="The answer. Required unless attachments are given.")
    channel: ObjectId | None = Field(
        None,
        description="Channel id to answer through; default: the customer's chosen reply channel, "
        "else the one they wrote from.",
    )
    status: Status | None = Field(
        None,
        description="Status after replying; default: new and open conversations become pending "
        "(waiting on the customer).",
    )
    attachments: list[AttachmentIn] = Field(
        default_factory=list, description="Files to send with the answer (limits: see the shop's settings)."
    )


class NoteIn(Input):
    text: str = Field(
        "", description="The note; never sent to the customer. @handle mentions notify those members."
    )
    attachments: list[AttachmentIn] = Field(default_factory=list, description="Files to keep with the note.")


# --- Customers --------------------------------------------------------------------------------------


class IdentityOut(Schema):
    id: int = Field(description="Identity id.")
    kind: IdentityKind = Field(description="email, phone (E.164), external (the shop's id), visitor, …")
    address: str = Field(description="Normalised: lower-case email, E.164 phone number.")
    verified: bool = Field(description="Whether the address was proven to be the customer's.")
    created_at: dt.datetime = Field(description="When it was added.")


class CustomerOut(Schema):
    id: int = Field(description="Customer id.")
    name: str = Field(description="Name, if known.")
    display_name: str = Field(description="The name, or the first address when no name is known.")
    language: str = Field(description="Preferred language (BCP 47 primary tag), if known.")
    time_zone: str = Field(description="IANA time zone, if known.")
    preferred_reply_channel: int | None = Field(description="Channel id the customer wants answers in.")
    preferred_contact_hours: str = Field(description="When the customer likes to be contacted, in words.")
    consent: dict[str, Any] = Field(description="Consents given, by purpose: {given, at, source}.")
    attributes: dict[str, Any] = Field(description="Free-form facts from the shop (segment, orders, …).")
    blocked: bool = Field(description="Whether the shop marked the customer as blocked.")
    identities: list[IdentityOut] = Field(description="Addresses the customer is known by.")
    merged_into: int | None = Field(description="Id of the customer this one was merged into.")
    created_at: dt.datetime = Field(description="When the customer was first seen.")
    updated_at: dt.datetime = Field(description="Last change (use with `updated_after`).")

    @staticmethod
    def resolve_preferred_reply_channel(obj: Customer) -> int | None:
        return obj.preferred_reply_channel_id

    @staticmethod
    def resolve_merged_into(obj: Customer) -> int | None:
        return obj.merged_into_id

    @staticmethod
    def resolve_identities(obj: Customer) -> list[Any]:
        return list(obj.identities.all())


class CustomerPage(Schema):
    items: list[CustomerOut] = Field(description="Customers of this page.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class IdentityIn(Input):
    kind: IdentityKind = Field(description="email, phone, external (the shop's id), telegram, …")
    address: str = Field(
        min_length=1,
        max_length=320,
        description="Email address, phone number (national numbers are read in the shop's country), "
        "or the id in that system.",
    )


class CustomerIn(Input):
    name: str = Field("", max_length=200, description="Full name.")
    language: str = Field(
        "", max_length=10, pattern=r"^$|" + LANGUAGE_PATTERN, description="Preferred language, e.g. pl."
    )
    email: str | None = Field(None, max_length=320, description="Email address.")
    phone: str | None = Field(
        None, max_length=40, description="Phone number; national numbers are read in the shop's country."
    )
    external_id: str | None = Field(None, max_length=320, description="The shop's own id for the customer.")
    identities: list[IdentityIn] = Field(
        default_factory=list, max_length=20, description="Further identities (telegram, whatsapp, …)."
    )
    attributes: dict[str, Any] = Field(
        default_factory=dict, description="Free-form facts from the shop (segment, orders, …)."
    )


class CustomerPatch(Input):
    name: str = absent(max_length=200, description="Full name.")
    language: str = absent(
        max_length=10, pattern=r"^$|" + LANGUAGE_PATTERN, description="Preferred language, e.g. pl."
    )
    time_zone: str = absent(max_length=64, description="IANA time zone, e.g. Europe/Warsaw.")
    preferred_contact_hours: str = absent(
        max_length=100, description="When the customer likes to be contacted, in words."
    )
    attributes: dict[str, Any] = absent(description="Replaces all attributes.")
    blocked: bool = absent(description="Block or unblock the customer.")
    preferred_reply_channel: ObjectId | None = Field(None, description="Channel id, or null for none.")

    _time_zone = field_validator("time_zone")(_check_time_zone)


class CustomerMerge(Input):
    into: ObjectId = Field(
        description="Id of the customer to merge this one into: identities and conversations move "
        "there; this one remains as a pointer (merged_into)."
    )


# --- Teams, tags, members, channels ------------------------------------------------------------------


class TeamOut(Schema):
    id: int = Field(description="Team id.")
    name: str = Field(description="Team name, unique in the shop.")
    description: str = Field(description="What the team does.")
    members: list[MemberRef] = Field(description="Its members.")
    created_at: dt.datetime = Field(description="When it was created.")

    @staticmethod
    def resolve_members(obj: Team) -> list[Membership]:
        return list(obj.members.all())


class TeamPage(Schema):
    items: list[TeamOut] = Field(description="Teams of this page.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class TeamIn(Input):
    name: str = Field(min_length=1, max_length=100, description="Team name, unique in the shop.")
    description: str = Field("", max_length=300, description="What the team does.")
    members: list[ObjectId] = Field(default_factory=list, max_length=1000, description="Member ids.")


class TeamPatch(Input):
    name: str = absent(min_length=1, max_length=100, description="Team name, unique in the shop.")
    description: str = absent(max_length=300, description="What the team does.")
    members: list[ObjectId] = absent(max_length=1000, description="Member ids: exactly these.")


class TeamMemberIn(Input):
    member: ObjectId = Field(description="Member id to add to the team.")


class TagOut(Schema):
    id: int = Field(description="Tag id.")
    name: str = Field(description="Tag name, unique in the shop.")
    color: str = Field(description="Colour as #rrggbb.")
    created_at: dt.datetime = Field(description="When it was created.")


class TagPage(Schema):
    items: list[TagOut] = Field(description="Tags of this page.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class TagIn(Input):
    name: str = Field(min_length=1, max_length=50, description="Tag name, unique in the shop.")
    color: str = Field("#6b7280", pattern=COLOR_PATTERN, description="Colour as #rrggbb.")


class TagPatch(Input):
    name: str = absent(min_length=1, max_length=50, description="Tag name, unique in the shop.")
    color: str = absent(pattern=COLOR_PATTERN, description="Colour as #rrggbb.")


class MemberOut(Schema):
    id: int = Field(description="Member id.")
    name: str = Field(description="Display name.")
    email: str = Field(description="The member's sign-in email address.")
    role: Role = Field(description="owner, admin, supervisor or agent.")
    availability: Availability = Field(description="online, away or offline.")
    capacity: int = Field(description="Live conversations taken at once; 0 means no limit.")
    languages: list[str] = Field(description="Languages the member answers in.")
    is_active: bool = Field(description="false: the member no longer has access.")
    teams: list[TeamRef] = Field(description="Teams the member belongs to.")
    created_at: dt.datetime = Field(description="When the member joined.")

    @staticmethod
    def resolve_name(obj: Membership) -> str:
        return obj.display_name

    @staticmethod
    def resolve_email(obj: Membership) -> str:
        return obj.user.email

    @staticmethod
    def resolve_teams(obj: Membership) -> list[Team]:
        return list(obj.teams.all())


class MemberPage(Schema):
    items: list[MemberOut] = Field(description="Members of this page.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class MemberPatch(Input):
    """Anyone may change their own availability; everything else needs an admin."""

    role: Role = absent(description="Nobody gives a role above their own.")
    availability: Availability = absent(description="online, away or offline.")
    capacity: int = absent(ge=0, le=100, description="0 (no limit) to 100.")
    is_active: bool = absent(description="false removes the member's access (they stay in history).")
    languages: list[str] = absent(max_length=20, description='Languages the member answers in, e.g. ["pl"].')


class InvitationOut(Schema):
    id: int = Field(description="Invitation id.")
    email: str = Field(description="Where the invitation was sent.")
    role: Role = Field(description="The role given on joining.")
    invited_by: int | None = Field(description="Member id of who invited.")
    created_at: dt.datetime = Field(description="When it was sent.")
    expires_at: dt.datetime = Field(description="When the link stops working.")
    accepted_at: dt.datetime | None = Field(description="When it was accepted.")
    revoked_at: dt.datetime | None = Field(description="When it was revoked.")

    @staticmethod
    def resolve_invited_by(obj: Invitation) -> int | None:
        return obj.invited_by_id


class InvitationPage(Schema):
    items: list[InvitationOut] = Field(description="Open invitations of this page.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class InvitationIn(Input):
    email: str = Field(max_length=254, description="Where the invitation link is sent (valid 7 days).")
    role: Role = Field(Role.AGENT, description="The role given on joining; not above the inviter's.")


class ChannelOut(Schema):
    id: int = Field(description="Channel id.")
    kind: str = Field(description="Channel kind: `api`, `form`, `email`, …")
    name: str = Field(description="The channel's name in the shop.")
    public_id: uuid.UUID = Field(description="The id used in the channel's public URLs (webhooks, forms).")
    disabled: bool = Field(description="Disabled channels neither receive nor send.")
    can_send: bool = Field(description="Whether replies can be sent through it.")
    recipient_kind: str = Field(description="The customer identity kind it sends to (email, phone, …).")
    last_error: str = Field(description="The last problem the channel reported, if any.")
    last_error_at: dt.datetime | None = Field(description="When that happened.")
    created_at: dt.datetime = Field(description="When it was added.")

    @staticmethod
    def resolve_can_send(obj: Channel) -> bool:
        caps = _capabilities(obj)
        return bool(caps and caps.can_send)

    @staticmethod
    def resolve_recipient_kind(obj: Channel) -> str:
        caps = _capabilities(obj)
        return caps.recipient_kind if caps else ""


def _capabilities(channel: Channel) -> Any:
    from frontdesk.channels.registry import UnknownChannelKind

    try:
        return channel.adapter.capabilities
    except UnknownChannelKind:
        return None


class ChannelPage(Schema):
    items: list[ChannelOut] = Field(description="Channels of this page.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class PageParams(Schema):
    cursor: str | NotGiven = Field(
        None, max_length=2000, description="`next_cursor` of the previous page; omit for the first page."
    )
    limit: int = Field(25, ge=1, le=100, description="Page size, 1 to 100.")
