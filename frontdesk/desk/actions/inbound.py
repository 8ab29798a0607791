"""Receiving: raw payload stored first, then parsed by the adapter, then decided here, once.

Every channel goes through `receive_raw` (or `do_receive_inbound` for channels that parse
elsewhere). The decisions — who the customer is, which conversation the message belongs to,
what happens to its status — are made only here, never in an adapter.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import structlog
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from frontdesk.channels.base import InboundMessage, InboundRejected, RawPayload

from ..errors import ActionError, Invalid
from ..events import record_event
from ..lib.sanitize import sanitize_html
from ..models import (
    DONE_STATUSES,
    AuthorKind,
    Channel,
    Conversation,
    Customer,
    Direction,
    Message,
    RawInbound,
    RawState,
    Status,
    Tenant,
)
from . import sla
from .attachments import check_attachments, store_attachments
from .customers import find_or_create_customer
from .outbox import mark_bounced
from .routing import offer_if_waiting

log = structlog.get_logger(__name__)


@dataclass
class ReceiveResult:
    message: Message
    conversation: Conversation
    # False when the dedupe key had been received before: nothing new was created.
    created: bool


def store_raw(channel: Channel, payload: RawPayload, *, dedupe_key: str = "") -> RawInbound:
    """Commit the payload as received. Call before parsing and before answering the sender.

    `dedupe_key`: the message's identity when the transport knows it before parsing (an email's
    Message-ID), so fetchers can skip what they stored already."""
    with transaction.atomic():
        return RawInbound.objects.create(
            tenant_id=channel.tenant_id,
            channel=channel,
            body=payload.body,
            content_type=payload.content_type[:200],
            headers=payload.headers,
            remote_addr=payload.remote_addr[:64],
            dedupe_key=dedupe_key[:300],
        )


@dataclass(frozen=True)
class Receipt:
    """A payload its adapter checked before processing (`Prefer: respond-async` on a webhook)."""

    channel: Channel
    payload: RawPayload
    # Why the adapter refused it: stored as rejected and never processed. Empty: process it.
    refused: str = ""


def store_receipts(receipts: list[Receipt]) -> list[RawInbound]:
    """Commit checked payloads, and queue the processing of each accepted one, in one transaction.

    Storing and queueing commit together, so a payload the sender was told is accepted is always
    processed (by a worker, `process_raw_inbound`), and a crash before the commit stored nothing:
    the sender, never answered, sends it again. One transaction for many payloads is what lets one
    process take hundreds of webhooks a second (one commit, not one per request)."""
    from ..worker.tasks import process_raw_inbound

    now = timezone.now()
    raws = [
        RawInbound(
            tenant_id=r.channel.tenant_id,
            channel=r.channel,
            received_at=now,
            body=r.payload.body,
            content_type=r.payload.content_type[:200],
            headers=r.payload.headers,
            remote_addr=r.payload.remote_addr[:64],
            state=RawState.REJECTED if r.refused else RawState.RECEIVED,
            error=r.refused[:2000],
            attempts=1 if r.refused else 0,
            processed_at=now if r.refused else None,
        )
        for r in receipts
    ]
    with transaction.atomic():
        RawInbound.objects.bulk_create(raws)
        for raw in raws:
            if raw.state == RawState.RECEIVED:
                process_raw_inbound.enqueue(raw.pk)
    return raws


def raw_payload(raw: RawInbound) -> RawPayload:
    return RawPayload(
        body=bytes(raw.body),
        content_type=raw.content_type,
        headers=dict(raw.headers),
        remote_addr=raw.remote_addr,
        received_at=raw.received_at,
    )


def process_raw(raw: RawInbound) -> list[ReceiveResult]:
    """Parse a stored payload and receive its messages. Idempotent: safe to run again.

    Raises InboundRejected (the payload is bad: marked rejected) or ActionError (the content is
    invalid: marked rejected); any other exception marks it failed, to be retried by the sweeper.
    """
    channel = raw.channel
    raw.attempts += 1
    try:
        # Parsed before the transaction: on SQLite a transaction holds the write lock throughout.
        inbound = channel.adapter.parse_inbound(channel, raw_payload(raw))
        # The messages and the payload's "processed" commit together: a crash in between would
        # leave a payload marked received whose messages exist, processed again later and then
        # called a duplicate of itself.
        with transaction.atomic():
            results = [do_receive_inbound(channel, message, raw=raw) for message in inbound]
            created = any(r.created for r in results) or not results
            _finish_raw(raw, RawState.PROCESSED if created else RawState.DUPLICATE, "")
    except (InboundRejected, ActionError) as exc:
        _finish_raw(raw, RawState.REJECTED, str(getattr(exc, "message", exc)))
        raise
    except Exception as exc:
        _finish_raw(raw, RawState.FAILED, f"{type(exc).__name__}: {exc}")
        raise
    return results


def _finish_raw(raw: RawInbound, state: str, error: str) -> None:
    raw.state = state
    raw.error = error[:2000]
    raw.processed_at = timezone.now()
    raw.save(update_fields=["state", "error", "processed_at", "attempts"])


def receive_raw(channel: Channel, payload: RawPayload) -> tuple[RawInbound, list[ReceiveResult]]:
    """Store, then process. What a channel's webhook view calls."""
    raw = store_raw(channel, payload)
    return raw, process_raw(raw)


def next_conversation_number(tenant_id: int) -> int:
    """Hand out the tenant's next reference number. Must run inside the caller's transaction:
    the UPDATE locks the tenant row until commit, so two receivers never get the same number."""
    # One statement with RETURNING (SQLite 3.35+, PostgreSQL): this runs for every new
    # conversation, and a second query to read the number back would be a second round trip.
    with connection.cursor() as cursor:
        cursor.execute(_NEXT_NUMBER_SQL, [tenant_id])
        row = cursor.fetchone()
    if row is None:
        raise Tenant.DoesNotExist(tenant_id)
    return int(row[0])


_NEXT_NUMBER_SQL = (
    "UPDATE desk_tenant SET last_conversation_number = last_conversation_number + 1 "
    "WHERE id = %s RETURNING last_conversation_number"
)


def _follow_merges(conversation: Conversation) -> Conversation:
    seen = set()
    while conversation.merged_into_id and conversation.pk not in seen:
        seen.add(conversation.pk)
        conversation = Conversation.objects.get(pk=conversation.merged_into_id)
    return conversation


def find_thread(channel: Channel, customer: Customer, inbound: InboundMessage) -> Conversation | None:
    """The conversation this message continues, strongest evidence first; None for a new one.

    Never by subject alone. A conversation number only counts when it is this customer's, so
    nobody writes into someone else's conversation by guessing a number.
    """
    tenant_id = channel.tenant_id
    if inbound.in_reply_to:
        # Through msg_tenant_provider; ordering in SQL by id would make the planners walk the
        # tenant's messages newest first instead (0.5-1 s at 300k messages), so the newest of the
        # few matches is picked here.
        ids = list(
            Message.objects.filter(tenant_id=tenant_id, provider_id__in=inbound.in_reply_to[:50])
            .exclude(provider_id="")
            .order_by()
            .values_list("id", flat=True)
        )
        if ids:
            earlier = Message.objects.select_related("conversation").get(pk=max(ids))
            return _follow_merges(earlier.conversation)
    if inbound.verified_conversation_number:
        found = Conversation.objects.filter(
            tenant_id=tenant_id, number=inbound.verified_conversation_number
        ).first()
        if found is not None:
            return _follow_merges(found)
    if inbound.conversation_number:
        found = Conversation.objects.filter(
            tenant_id=tenant_id, number=inbound.conversation_number, customer=customer
        ).first()
        if found is not None:
            return _follow_merges(found)
    if inbound.external_thread_id:
        found = (
            Conversation.objects.filter(
                tenant_id=tenant_id, channel=channel, external_thread_id=inbound.external_thread_id
            )
            .order_by("-id")
            .first()
        )
        if found is not None:
            return _follow_merges(found)
    # An explicit thread id that matched nothing is a new thread, not the customer's latest one.
    if channel.adapter.capabilities.thread_by_customer and not inbound.external_thread_id:
        found = (
            Conversation.objects.filter(
                tenant_id=tenant_id, channel=channel, customer=customer, merged_into=None
            )
            .exclude(status=Status.CLOSED)
            .order_by("-last_message_at")
            .first()
        )
        if found is not None:
            return found
    return None


def do_receive_inbound(
    channel: Channel, inbound: InboundMessage, *, raw: RawInbound | None = None
) -> ReceiveResult:
    """Receive one customer message: customer, conversation, message, status, events. Idempotent."""
    if not inbound.dedupe_key:
        raise Invalid(_("Every inbound message needs a deduplication key."), code="missing_dedupe_key")
    if len(inbound.text) > settings.FRONTDESK_MAX_MESSAGE_CHARS:
        raise Invalid(
            _("The message is longer than %(n)d characters.") % {"n": settings.FRONTDESK_MAX_MESSAGE_CHARS},
            code="message_too_long",
            fields={"text": [_("Too long.")]},
        )
    check_attachments(inbound.attachments)
    existing = _existing(channel, inbound.dedupe_key)
    if existing is not None:
        return existing
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                return _receive(channel, inbound, raw)
        except IntegrityError:
            # Another receiver committed the same dedupe key between our check and our insert…
            existing = _existing(channel, inbound.dedupe_key)
            if existing is not None:
                return existing
            # …or the same new customer (an identity) from another message: their row exists
            # now, so a second try finds it instead of creating it.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _existing(channel: Channel, dedupe_key: str) -> ReceiveResult | None:
    message = stored_message(channel, dedupe_key)
    if message is None:
        return None
    return ReceiveResult(message=message, conversation=message.conversation, created=False)


def stored_message(channel: Channel, provider_id: str) -> Message | None:
    """The message of this channel stored under this provider id, if any. Asked of every message
    received and almost always none: the first query only looks for an id, the cheap answer."""
    # .exclude(provider_id="") states the partial unique index's condition: without it SQLite does
    # not use that index and reads every message of the channel (0.5 s at 300k messages).
    matching = Message.objects.filter(channel=channel, provider_id=provider_id[:300]).exclude(provider_id="")
    found = list(matching.order_by().values_list("pk")[:1])
    if not found:
        return None
    return Message.objects.select_related("conversation").get(pk=found[0][0])


def _check_not_own_address(channel: Channel, inbound: InboundMessage) -> None:
    """Mail from one of the shop's own channel addresses is an echo or a loop, not a customer."""
    sender = (inbound.contact.email or "").strip().lower()
    if (
        sender
        and Channel.objects.filter(tenant_id=channel.tenant_id, inbound_address__iexact=sender).exists()
    ):
        raise Invalid(
            _("The sender %(address)s is one of the shop's own addresses.") % {"address": sender},
            code="own_address",
        )


def _receive(channel: Channel, inbound: InboundMessage, raw: RawInbound | None) -> ReceiveResult:
    tenant = channel.tenant
    now = timezone.now()
    _check_not_own_address(channel, inbound)
    if inbound.bounce is not None:
        bounced = _receive_bounce(channel, inbound, raw, now)
        if bounced is not None:
            return bounced
    customer = find_or_create_customer(tenant, inbound.contact)
    conversation = find_thread(channel, customer, inbound)
    created_conversation = False
    previous_status = None
    if conversation is not None and conversation.status == Status.CLOSED and not tenant.reopen_closed:
        previous, conversation = conversation, None
    else:
        previous = None
    if conversation is None:
        conversation = Conversation.objects.create(
            tenant=tenant,
            number=next_conversation_number(tenant.pk),
            customer=customer,
            channel=channel,
            reply_channel=customer.preferred_reply_channel,
            subject=(inbound.subject or _first_line(inbound.text))[:300],
            language=(inbound.language or customer.language)[:10],
            external_thread_id=inbound.external_thread_id[:200],
            created_at=now,
            last_message_at=now,
            last_inbound_at=now,
            waiting_since=now,
            previous=previous,
        )
        created_conversation = True
        sla.start_clocks(conversation)
        if inbound.prompt:
            # The invitation the customer answered opens the conversation, as the shop's words.
            Message.objects.create(
                tenant=tenant,
                conversation=conversation,
                direction=Direction.OUT,
                channel=channel,
                author_kind=AuthorKind.BOT,
                text=inbound.prompt[:2000],
                created_at=now,
            )
    else:
        previous_status = conversation.status

    message = Message.objects.create(
        tenant=tenant,
        conversation=conversation,
        direction=Direction.IN,
        channel=channel,
        author_kind=AuthorKind.CUSTOMER,
        customer=customer,
        subject=inbound.subject[:300],
        text=inbound.text,
        quoted_text=inbound.quoted_text,
        html=sanitize_html(inbound.html),
        language=(inbound.language or "")[:10],
        provider_id=inbound.dedupe_key[:300],
        raw=raw,
        is_auto_reply=inbound.is_auto_reply or inbound.bounce is not None,
        created_at=now,
        sent_at=inbound.sent_at,
    )
    store_attachments(message, inbound.attachments)

    if created_conversation:
        record_event(
            tenant,
            "conversation.created",
            conversation=conversation,
            data={
                "channel": channel.pk,
                "customer": customer.pk,
                "previous": previous.number if previous else None,
            },
        )
    elif message.is_auto_reply:
        # An out-of-office answer to our reply: stored and shown, but the customer has not written
        # back, so the conversation stays where it was (no reopening, no waiting clock).
        conversation.last_message_at = now
        conversation.updated_at = now
        conversation.save(update_fields=["last_message_at", "updated_at"])
    else:
        _continue_conversation(conversation, previous_status, now)
    record_event(
        tenant,
        "message.created",
        conversation=conversation,
        data={"message": message.pk, "direction": Direction.IN, "channel": channel.pk},
    )
    if channel.adapter.capabilities.live and not message.is_auto_reply:
        offer_if_waiting(conversation)
    if created_conversation or previous_status in DONE_STATUSES:
        # Told within seconds who handles it and by when (docs/service.md): queued in this
        # transaction, so the acknowledgement exists exactly when the message does. (Imported
        # here: acknowledge → status → chat import this module.)
        from .acknowledge import do_acknowledge

        do_acknowledge(conversation, message, now)
    log.info(
        "inbound.received",
        tenant=tenant.pk,
        channel=channel.pk,
        conversation=conversation.number,
        message=message.pk,
        new_conversation=created_conversation,
    )
    return ReceiveResult(message=message, conversation=conversation, created=True)


def _receive_bounce(
    channel: Channel, inbound: InboundMessage, raw: RawInbound | None, now: dt.datetime
) -> ReceiveResult | None:
    """A bounce of a message we sent: shown in its conversation and marked on its delivery.

    Returns None when the bounce names no message of ours; it is then kept as an ordinary
    (automatic) message, so nothing is lost.
    """
    assert inbound.bounce is not None
    report = inbound.bounce
    original = (
        Message.objects.filter(
            tenant_id=channel.tenant_id,
            direction=Direction.OUT,
            provider_id__in=[i[:300] for i in report.original_message_ids[:20] if i],
        )
        .select_related("conversation")
        .order_by("-id")
        .first()
    )
    if original is None:
        return None
    conversation = _follow_merges(original.conversation)
    # The server's answer usually names the status itself ("550 5.1.1 … User unknown"): once is enough.
    status = "" if report.status and report.status in report.diagnostic else report.status
    detail = " ".join(p for p in (status, report.diagnostic) if p).strip()[:2000]
    message = Message.objects.create(
        tenant_id=channel.tenant_id,
        conversation=conversation,
        direction=Direction.IN,
        channel=channel,
        author_kind=AuthorKind.SYSTEM,
        subject=inbound.subject[:300],
        text=inbound.text,
        html=sanitize_html(inbound.html),
        provider_id=inbound.dedupe_key[:300],
        raw=raw,
        is_auto_reply=True,
        created_at=now,
        sent_at=inbound.sent_at,
    )
    store_attachments(message, inbound.attachments)
    record_event(
        channel.tenant_id,
        "message.created",
        conversation=conversation,
        data={"message": message.pk, "direction": Direction.IN, "channel": channel.pk, "bounce": True},
    )
    if report.permanent:
        mark_bounced(
            original, recipients=report.recipients, detail=detail or _("The message was not delivered.")
        )
    else:
        record_event(
            channel.tenant_id,
            "message.delivery_delayed",
            conversation=conversation,
            data={"message": original.pk, "detail": detail},
        )
    return ReceiveResult(message=message, conversation=conversation, created=True)


def _continue_conversation(conversation: Conversation, previous_status: str | None, now) -> None:  # type: ignore[no-untyped-def]
    """A customer wrote again: back to the queue if the shop thought it was done or waiting."""
    fields = sla.on_customer_message(conversation, now)  # before status and waiting_since change
    conversation.last_message_at = now
    conversation.last_inbound_at = now
    conversation.waiting_since = conversation.waiting_since or now
    conversation.updated_at = now
    fields += ["last_message_at", "last_inbound_at", "waiting_since", "updated_at"]
    if conversation.snoozed_until is not None:
        conversation.snoozed_until = None
        fields.append("snoozed_until")
    if previous_status in (Status.PENDING, Status.RESOLVED, Status.CLOSED):
        conversation.status = Status.OPEN
        conversation.resolved_at = None
        fields += ["status", "resolved_at"]
    conversation.save(update_fields=fields)
    if conversation.status != previous_status:
        record_event(
            conversation.tenant_id,
            "conversation.status_changed",
            conversation=conversation,
            data={"from": previous_status, "to": conversation.status, "reason": "customer_replied"},
        )


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:120]
    return ""
