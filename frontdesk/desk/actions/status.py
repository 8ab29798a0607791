"""The customer's status page: a signed link (no login) to one conversation, where the customer
sees its progress, writes more and chooses how the answer comes.

The link is the only key, so it is signed (tenant and conversation ids, timestamped) and expires
after `TOKEN_MAX_AGE`. A message written there is received like any channel's message
(`do_receive_inbound` in the conversation's channel), so everything downstream applies; the
customer's client-generated id makes a double submit store it once.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from frontdesk.channels.base import InboundAttachment, InboundContact, InboundMessage

from ..errors import Invalid, NotFound
from ..events import record_event
from ..lib.addresses import InvalidAddress, normalize_email, normalize_phone
from ..models import (
    Callback,
    CallbackState,
    Channel,
    ChatVisitor,
    Conversation,
    CustomerIdentity,
    IdentityKind,
    Status,
)
from .attachments import check_attachments
from .chat import _channel_for
from .inbound import ReceiveResult, do_receive_inbound

LINK_SALT = "frontdesk.status.link"
TOKEN_MAX_AGE = dt.timedelta(days=180)
# The hidden id the page puts in its message form: a double submit of the same form sends it twice.
CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
# How far ahead a customer may ask to be called.
CALL_HORIZON = dt.timedelta(days=60)
MIN_CALL_WINDOW = dt.timedelta(minutes=15)

STATUS_WORDS: dict[str, Any] = {
    Status.NEW: gettext_lazy("Received, waiting for its turn"),
    Status.OPEN: gettext_lazy("We are working on it"),
    Status.ON_HOLD: gettext_lazy("We are working on it"),
    Status.PENDING: gettext_lazy("Waiting for your answer"),
    Status.RESOLVED: gettext_lazy("Answered"),
    Status.CLOSED: gettext_lazy("Closed"),
}
REPLY_LABELS: dict[str, Any] = {
    "email": gettext_lazy("Email"),
    "sms": gettext_lazy("Text message (SMS)"),
    "call": gettext_lazy("A phone call"),
    "chat": gettext_lazy("Chat on the website"),
}
# Suggested call windows: (key, label, day offset, from, until) on the customer's clock.
CALL_PRESETS: list[tuple[str, Any, int, dt.time, dt.time]] = [
    ("today_evening", gettext_lazy("Today after 18:00"), 0, dt.time(18), dt.time(21)),
    ("tomorrow_morning", gettext_lazy("Tomorrow 9:00–12:00"), 1, dt.time(9), dt.time(12)),
    ("tomorrow_afternoon", gettext_lazy("Tomorrow 12:00–17:00"), 1, dt.time(12), dt.time(17)),
    ("tomorrow_evening", gettext_lazy("Tomorrow after 18:00"), 1, dt.time(18), dt.time(21)),
]


# --- The link ----------------------------------------------------------------------------------------


def status_token(conversation: Conversation) -> str:
    """A signed, timestamped token naming the conversation; the page's only key."""
    return signing.dumps({"t": conversation.tenant_id, "c": conversation.pk}, salt=LINK_SALT)


def status_url(conversation: Conversation) -> str:
    path = reverse("status-page", kwargs={"token": status_token(conversation)})
    return f"{settings.FRONTDESK_BASE_URL}{path}"


def conversation_for_token(token: str) -> Conversation:
    """The conversation a token names, followed to the one it was merged into. NotFound for a
    forged, tampered or expired token, and for one whose conversation is gone."""
    if not isinstance(token, str) or len(token) > 300:
        raise NotFound()
    try:
        payload = signing.loads(token, salt=LINK_SALT, max_age=TOKEN_MAX_AGE)
        tenant_id, conversation_id = int(payload["t"]), int(payload["c"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise NotFound() from None
    conversation = _visible(tenant_id, conversation_id)
    seen = set()
    # Merges chain within one shop; the loop ends at the first repeat (a cycle) or missing row.
    while conversation.merged_into_id and conversation.pk not in seen:
        seen.add(conversation.pk)
        conversation = _visible(tenant_id, conversation.merged_into_id)
    return conversation


def _visible(tenant_id: int, conversation_id: int) -> Conversation:
    found = (
        Conversation.objects.filter(tenant_id=tenant_id, pk=conversation_id)
        .select_related("tenant", "customer", "channel", "team", "assignee__user", "reply_channel")
        .first()
    )
    if found is None:
        raise NotFound()
    return found


def status_words(conversation: Conversation) -> str:
    return str(STATUS_WORDS.get(conversation.status, conversation.get_status_display()))


# --- The customer writes -------------------------------------------------------------------------------


def check_status_message(
    conversation: Conversation, text: str, files: Sequence[InboundAttachment], client_id: str
) -> InboundMessage:
    """The customer's message as the channel would deliver it; raises Invalid naming the fields."""
    text = (text or "").strip()
    errors: dict[str, list[str]] = {}
    if not CLIENT_ID.match(client_id or ""):
        # Only a page we did not render lacks it: reload rather than risk a duplicate.
        raise Invalid(_("Please reload the page and try again."), code="missing_client_id")
    if not text and not files:
        errors["text"] = [_("Write a message or attach a file.")]
    elif len(text) > settings.FRONTDESK_MAX_MESSAGE_CHARS:
        errors["text"] = [
            _("At most %(n)d characters, please.") % {"n": settings.FRONTDESK_MAX_MESSAGE_CHARS}
        ]
    if errors:
        raise Invalid(_("Please check the highlighted fields."), fields=errors)
    check_attachments(files)
    identity = _sender_identity(conversation)
    if identity is None:
        raise Invalid(_("This conversation cannot take messages here."), code="no_identity")
    return InboundMessage(
        dedupe_key=f"status:{conversation.pk}:{client_id}",
        contact=InboundContact(identities=[(identity.kind, identity.address)]),
        text=text,
        sent_at=timezone.now(),
        verified_conversation_number=conversation.number,
        attachments=list(files),
        metadata={"via": "status_page"},
    )


def _sender_identity(conversation: Conversation) -> CustomerIdentity | None:
    """One of the customer's identities, so the inbound path finds the same customer: preferably
    the kind the conversation's channel knows them by."""
    identities = list(conversation.customer.identities.all())
    kind = conversation.channel.adapter.capabilities.recipient_kind
    return next((i for i in identities if i.kind == kind), identities[0] if identities else None)


def do_status_message(
    conversation: Conversation,
    text: str,
    files: Sequence[InboundAttachment] = (),
    *,
    client_id: str,
) -> ReceiveResult:
    """Receive the customer's message through the conversation's channel (one transaction there);
    the same client id twice stores it once. A resolved conversation reopens as with any message."""
    inbound = check_status_message(conversation, text, files, client_id)
    return do_receive_inbound(conversation.channel, inbound)


# --- The customer chooses how the answer comes ---------------------------------------------------------


@dataclass(frozen=True)
class CallPreset:
    key: str
    label: str
    start: dt.datetime
    end: dt.datetime


@dataclass(frozen=True)
class ReplyChoice:
    kind: str  # one of REPLY_LABELS
    channel: Channel | None  # None for a call: an agent phones, no channel sends
    address: str  # E.164 phone, email address or chat visitor id
    window_start: dt.datetime | None = None
    window_end: dt.datetime | None = None


def reply_options(conversation: Conversation) -> dict[str, Channel | None]:
    """The ways this customer may choose, each with the channel that would send: only the shop's
    enabled channels that can send, a call only when the shop offers callbacks
    (`Tenant.service["offer_call"]`), chat only to a customer the chat widget knows."""
    options: dict[str, Channel | None] = {}
    email = _channel_for(conversation.tenant_id, IdentityKind.EMAIL)
    if email is not None:
        options["email"] = email
    sms = _channel_for(conversation.tenant_id, IdentityKind.PHONE)
    if sms is not None:
        options["sms"] = sms
    if (conversation.tenant.service or {}).get("offer_call"):
        options["call"] = None
    visitor = _chat_visitor(conversation)
    if visitor is not None:
        options["chat"] = visitor.channel
    return options


def _chat_visitor(conversation: Conversation) -> ChatVisitor | None:
    for visitor in (
        ChatVisitor.objects.filter(
            tenant_id=conversation.tenant_id,
            customer_id=conversation.customer_id,
            channel__disabled=False,
        )
        .select_related("channel")
        .order_by("-last_seen_at")[:5]
    ):
        if visitor.channel.adapter.capabilities.can_send:
            return visitor
    return None


def call_presets(conversation: Conversation, now: dt.datetime | None = None) -> list[CallPreset]:
    """The suggested call windows still ahead, on the customer's clock."""
    from .acknowledge import customer_zone

    zone = customer_zone(conversation)
    now = now or timezone.now()
    today = now.astimezone(zone).date()
    presets = []
    for key, label, days, start, end in CALL_PRESETS:
        day = today + dt.timedelta(days=days)
        window = CallPreset(
            key,
            str(label),
            dt.datetime.combine(day, start, tzinfo=zone),
            dt.datetime.combine(day, end, tzinfo=zone),
        )
        if window.end - MIN_CALL_WINDOW > now:
            presets.append(window)
    return presets


def check_choose_reply(
    conversation: Conversation, data: dict[str, Any], now: dt.datetime | None = None
) -> ReplyChoice:
    """Validate the customer's choice: `reply_via`, then `email`, `phone` and for a call either
    `call_preset` or `call_date` + `call_from` + `call_until`. Raises Invalid naming the fields."""
    now = now or timezone.now()
    options = reply_options(conversation)
    kind = str(data.get("reply_via") or "")
    if kind not in options:
        raise Invalid(
            _("Please choose one of the ways offered."),
            code="reply_unavailable",
            fields={"reply_via": [_("This way of answering is not available.")]},
        )
    customer = conversation.customer
    if kind == "chat":
        visitor = _chat_visitor(conversation)
        assert visitor is not None  # offered above
        return ReplyChoice(kind, options[kind], visitor.public_id)
    if kind == "email":
        address = _address(data, "email", customer.identity(IdentityKind.EMAIL), normalize_email, None)
    else:
        address = _address(
            data, "phone", customer.identity(IdentityKind.PHONE), normalize_phone, conversation.tenant.country
        )
    identity_kind = IdentityKind.EMAIL if kind == "email" else IdentityKind.PHONE
    owner = (
        CustomerIdentity.objects.filter(tenant_id=conversation.tenant_id, kind=identity_kind, address=address)
        .values_list("customer_id", flat=True)
        .first()
    )
    if kind != "call" and owner is not None and owner != customer.pk:
        # A typed address is a claim: never a way to send this conversation to someone else's record.
        field = "email" if kind == "email" else "phone"
        raise Invalid(
            _("Please check the highlighted fields."),
            fields={field: [_("We cannot use this address here. Please give another one.")]},
        )
    if kind != "call":
        return ReplyChoice(kind, options[kind], address)
    start, end = _call_window(conversation, data, now)
    return ReplyChoice(kind, None, address, start, end)


def _address(
    data: dict[str, Any], field: str, known: CustomerIdentity | None, normalize: Any, region: str | None
) -> str:
    given = str(data.get(field) or "").strip()[:320]
    if not given and known is not None:
        return known.address
    if not given:
        message = (
            _("Give the email address to answer to.") if field == "email" else _("Give the phone number.")
        )
        raise Invalid(_("Please check the highlighted fields."), fields={field: [message]})
    try:
        return str(normalize(given, region) if region is not None else normalize(given))
    except InvalidAddress:
        message = (
            _("This is not a valid email address.")
            if field == "email"
            else _("This is not a valid phone number. Include the country code, e.g. +48 601 234 567.")
        )
        raise Invalid(_("Please check the highlighted fields."), fields={field: [message]}) from None


def _call_window(
    conversation: Conversation, data: dict[str, Any], now: dt.datetime
) -> tuple[dt.datetime, dt.datetime]:
    preset_key = str(data.get("call_preset") or "")
    if preset_key:
        for preset in call_presets(conversation, now):
            if preset.key == preset_key:
                return preset.start, preset.end
        raise Invalid(
            _("Please check the highlighted fields."),
            fields={"call_window": [_("This time has passed. Please choose another.")]},
        )
    from .acknowledge import customer_zone

    zone = customer_zone(conversation)
    try:
        day = dt.date.fromisoformat(str(data.get("call_date") or ""))
        start_time = dt.time.fromisoformat(str(data.get("call_from") or ""))
        end_time = dt.time.fromisoformat(str(data.get("call_until") or ""))
    except ValueError:
        raise Invalid(
            _("Please check the highlighted fields."),
            fields={"call_window": [_("Choose a suggested time, or a date with the hours from and until.")]},
        ) from None
    start = dt.datetime.combine(day, start_time.replace(tzinfo=None), tzinfo=zone)
    end = dt.datetime.combine(day, end_time.replace(tzinfo=None), tzinfo=zone)
    if end - start < MIN_CALL_WINDOW:
        problem = _("The window must end at least 15 minutes after it starts.")
    elif end <= now + MIN_CALL_WINDOW:
        problem = _("This time has passed. Please choose another.")
    elif start > now + CALL_HORIZON:
        problem = _("Please choose a day within the next 60 days.")
    else:
        return start, end
    raise Invalid(_("Please check the highlighted fields."), fields={"call_window": [problem]})


def do_choose_reply(
    conversation: Conversation, data: dict[str, Any], now: dt.datetime | None = None
) -> ReplyChoice:
    """Apply the customer's choice: the address becomes an (unverified) identity of theirs when
    new; a written answer's channel is stored on the conversation and as the customer's
    preference; a call becomes a scheduled Callback in their window. Events for each change."""
    now = now or timezone.now()
    choice = check_choose_reply(conversation, data, now)
    with transaction.atomic():
        conversation = (
            Conversation.objects.select_for_update().select_related("customer").get(pk=conversation.pk)
        )
        customer = conversation.customer
        if choice.kind in ("email", "sms", "call"):
            _claim_identity(
                conversation,
                IdentityKind.EMAIL if choice.kind == "email" else IdentityKind.PHONE,
                choice.address,
            )
        if choice.channel is not None:
            conversation.reply_channel = choice.channel
            conversation.updated_at = now
            conversation.save(update_fields=["reply_channel", "updated_at"])
            customer.preferred_reply_channel = choice.channel
            customer.updated_at = now
            customer.save(update_fields=["preferred_reply_channel", "updated_at"])
            record_event(
                conversation.tenant_id,
                "conversation.reply_channel_changed",
                conversation=conversation,
                data={
                    "channel": choice.channel.pk,
                    "channel_name": choice.channel.name,
                    "chosen_by": "customer",
                    "reply_via": choice.kind,
                    "requested": choice.kind,
                    "address": choice.address,
                },
            )
        if choice.kind == "call":
            assert choice.window_start is not None and choice.window_end is not None
            callback = Callback.objects.create(
                tenant_id=conversation.tenant_id,
                conversation=conversation,
                phone=choice.address,
                window_start=choice.window_start,
                window_end=choice.window_end,
                due_at=choice.window_start,
                state=CallbackState.SCHEDULED,
                created_at=now,
                updated_at=now,
            )
            record_event(
                conversation.tenant_id,
                "callback.requested",
                conversation=conversation,
                data={
                    "callback": callback.pk,
                    "phone": choice.address,
                    "window_start": choice.window_start.isoformat(),
                    "window_end": choice.window_end.isoformat(),
                    "chosen_by": "customer",
                },
            )
    return choice


def _claim_identity(conversation: Conversation, kind: str, address: str) -> None:
    """Keep the typed address as an unverified identity of the customer, unless anyone has it,
    and make it the one answers of its kind go to."""
    existing = CustomerIdentity.objects.filter(
        tenant_id=conversation.tenant_id, kind=kind, address=address
    ).first()
    if existing is not None:
        if existing.customer_id == conversation.customer_id:
            _prefer(existing)
        return
    try:
        with transaction.atomic():
            identity = CustomerIdentity.objects.create(
                tenant_id=conversation.tenant_id,
                customer=conversation.customer,
                kind=kind,
                address=address,
                verified=False,
            )
    except IntegrityError:
        return  # taken a moment ago by another customer: it stays a claim in the event
    _prefer(identity)
    record_event(
        conversation.tenant_id,
        "customer.identity_added",
        conversation=conversation,
        data={"customer": identity.customer_id, "kind": kind, "address": address, "verified": False},
    )


def _prefer(identity: CustomerIdentity) -> None:
    """The customer's chosen address of its kind: the one replies of that kind are sent to."""
    CustomerIdentity.objects.filter(customer_id=identity.customer_id, kind=identity.kind).exclude(
        pk=identity.pk
    ).update(preferred=False)
    CustomerIdentity.objects.filter(pk=identity.pk).update(preferred=True)
    identity.preferred = True
