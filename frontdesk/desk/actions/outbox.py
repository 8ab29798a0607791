"""The outbox: every outbound message is a Delivery committed with the business change, sent later
by a worker, retried with exponential backoff, and failed visibly when it cannot be sent.

Exactly-one-sender: a worker claims a delivery with one conditional UPDATE (pending → sending);
only the worker whose UPDATE matched sends. A worker that dies mid-send leaves the claim to expire
(`claimed_until`); the sweeper then makes it pending again. Delivery to the provider is therefore
at-least-once, and every send carries the delivery id so the receiver can drop a repeat.
"""

from __future__ import annotations

import datetime as dt
import random
import zoneinfo

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from frontdesk.channels.base import OutboundMessage, TransportError

from ..events import record_event
from ..models import (
    AuthorKind,
    Channel,
    Conversation,
    Delivery,
    DeliveryAttempt,
    DeliveryState,
    DeliveryStatus,
    Direction,
    Message,
)

log = structlog.get_logger(__name__)


def enqueue_delivery(message: Message, channel: Channel, recipient: str) -> Delivery:
    """Create the outbox row and its task. Must run in the transaction that creates the message."""
    from ..worker.tasks import send_delivery

    delivery = Delivery.objects.create(
        tenant_id=message.tenant_id, message=message, channel=channel, recipient=recipient
    )
    # The task row is written by the database task backend in this same transaction: it exists
    # exactly when the message does.
    send_delivery.enqueue(delivery.pk)
    return delivery


def queue_system_message(
    conversation: Conversation,
    channel: Channel,
    recipient: str,
    text: str,
    *,
    language: str,
    now: dt.datetime,
) -> Message:
    """A message the shop's system writes to the customer (an acknowledgement, a missed call):
    stored, queued for delivery and announced like an agent's reply, in the caller's transaction."""
    message = Message.objects.create(
        tenant_id=conversation.tenant_id,
        conversation=conversation,
        direction=Direction.OUT,
        channel=channel,
        author_kind=AuthorKind.SYSTEM,
        text=text,
        language=language,
        delivery_state=DeliveryState.QUEUED,
        created_at=now,
    )
    enqueue_delivery(message, channel, recipient)
    record_event(
        conversation.tenant_id,
        "message.created",
        conversation=conversation,
        data={"message": message.pk, "direction": Direction.OUT, "channel": channel.pk},
    )
    return message


def backoff(attempts: int) -> dt.timedelta:
    """Delay before attempt `attempts + 1`: base · 2^(attempts-1), ±20% jitter, at most 6 h."""
    base = settings.FRONTDESK_DELIVERY_BACKOFF_SECONDS
    seconds = min(base * (2 ** max(attempts - 1, 0)), 6 * 3600)
    return dt.timedelta(seconds=seconds * random.uniform(0.8, 1.2))  # noqa: S311 - jitter, not security


def claim(delivery_id: int, worker_id: str) -> Delivery | None:
    """Take the delivery for sending, or None when it isn't due or another worker has it."""
    now = timezone.now()
    lease = dt.timedelta(seconds=settings.FRONTDESK_DELIVERY_TIMEOUT_SECONDS * 2 + 30)
    with transaction.atomic():
        claimed = (
            Delivery.objects.filter(pk=delivery_id, next_attempt_at__lte=now)
            .filter(
                Q(status=DeliveryStatus.PENDING) | Q(status=DeliveryStatus.SENDING, claimed_until__lt=now)
            )
            .update(
                status=DeliveryStatus.SENDING,
                claimed_by=worker_id,
                claimed_until=now + lease,
                attempts=F("attempts") + 1,
            )
        )
    if not claimed:
        return None
    return Delivery.objects.select_related(
        "channel", "message__conversation__customer", "message__conversation__tenant", "message__author__user"
    ).get(pk=delivery_id)


def outbound_message(delivery: Delivery) -> OutboundMessage:
    message = delivery.message
    conversation = message.conversation
    tenant = conversation.tenant
    # The customer's latest message before this reply: the one the agent answered (not a bounce
    # or an out-of-office answer).
    last_inbound = (
        Message.objects.filter(
            conversation=conversation,
            direction=Direction.IN,
            author_kind=AuthorKind.CUSTOMER,
            is_auto_reply=False,
            pk__lt=message.pk,
        )
        .exclude(provider_id="")
        .order_by("-id")
        .only("provider_id", "text", "sent_at", "created_at")
        .first()
    )
    # Every message id of the thread so far, for channels that thread by them (email References).
    references = list(
        Message.objects.filter(conversation=conversation, pk__lt=message.pk, is_auto_reply=False)
        .exclude(direction=Direction.NOTE)
        .exclude(provider_id="")
        .order_by("id")
        .values_list("provider_id", flat=True)
    )
    return OutboundMessage(
        delivery_id=delivery.pk,
        message_id=message.pk,
        conversation_number=conversation.number,
        conversation_subject=conversation.subject,
        recipient=delivery.recipient,
        text=message.text,
        html=message.html,
        author_name=message.author.display_name if message.author else "",
        customer_name=conversation.customer.name,
        external_thread_id=conversation.external_thread_id,
        in_reply_to=last_inbound.provider_id if last_inbound else "",
        attachments=[
            {"filename": a.filename, "content_type": a.content_type, "size": a.size, "path": a.file.path}
            for a in message.attachments.all()
        ],
        created_at=message.created_at,
        language=conversation.language or conversation.customer.language,
        references=references,
        signature=message.author.signature if message.author else "",
        shop_name=tenant.name,
        shop_language=tenant.default_language,
        shop_time_zone=tenant.time_zone,
        replied_text=last_inbound.text if last_inbound else "",
        replied_at=(last_inbound.sent_at or last_inbound.created_at) if last_inbound else None,
        transcript=_transcript(conversation, message, delivery.channel),
    )


TRANSCRIPT_MESSAGES = 50


def _transcript(conversation: Conversation, message: Message, channel: Channel) -> str:
    """The live chat so far, when this reply leaves the chat for another channel (docs/chat.md)."""
    origin = conversation.channel
    if channel.pk == origin.pk or not origin.adapter.capabilities.live:
        return ""
    zone = zoneinfo.ZoneInfo(conversation.tenant.time_zone or "UTC")
    rows = list(
        Message.objects.filter(conversation=conversation, pk__lt=message.pk)
        .exclude(direction=Direction.NOTE)
        .select_related("author__user", "customer")
        .order_by("-id")[:TRANSCRIPT_MESSAGES]
    )
    lines = []
    for row in reversed(rows):
        if row.direction == Direction.IN:
            who = (row.customer or conversation.customer).display_name
        else:
            who = row.author.display_name if row.author else conversation.tenant.name
        when = row.created_at.astimezone(zone).strftime("%H:%M")
        lines.append(f"{who} ({when}): {row.text}")
    return "\n".join(lines)


def process_delivery(delivery_id: int, worker_id: str) -> str:
    """Send one delivery if it is due and unclaimed. Returns what happened, for the task log."""
    delivery = claim(delivery_id, worker_id)
    if delivery is None:
        return "skipped"
    channel = delivery.channel
    attempt = DeliveryAttempt.objects.create(delivery=delivery, worker=worker_id[:64])
    try:
        if channel.disabled:
            raise TransportError(f"The channel {channel.name} is disabled", permanent=True)
        provider_id = channel.adapter.send(channel, outbound_message(delivery))
    except TransportError as exc:
        return _failed(delivery, attempt, exc)
    except Exception as exc:
        # A bug or an unexpected library error: treat as transient so it is retried, and log it.
        log.exception("delivery.unexpected_error", delivery=delivery.pk)
        return _failed(delivery, attempt, TransportError(f"{type(exc).__name__}: {exc}"))
    now = timezone.now()
    # provider_id is unique per channel on messages (it is the inbound dedupe key): a provider that
    # answers the same id twice must not make this update fail after the message went out.
    message_provider_id = provider_id[:300]
    if (
        message_provider_id
        and Message.objects.filter(channel_id=delivery.channel_id, provider_id=message_provider_id)
        .exclude(provider_id="")
        .exclude(pk=delivery.message_id)
        .exists()
    ):
        message_provider_id = f"{provider_id[:280]}#delivery-{delivery.pk}"
    with transaction.atomic():
        attempt.finished_at = now
        attempt.ok = True
        attempt.detail = f"provider id {provider_id}"[:2000]
        attempt.save(update_fields=["finished_at", "ok", "detail"])
        Delivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.SENT,
            provider_id=provider_id[:300],
            sent_at=now,
            claimed_until=None,
            last_error="",
        )
        Message.objects.filter(pk=delivery.message_id).update(
            delivery_error="", provider_id=message_provider_id
        )
        # A chat visitor may have read it already (delivered): that is not taken back.
        Message.objects.filter(pk=delivery.message_id).exclude(delivery_state=DeliveryState.DELIVERED).update(
            delivery_state=DeliveryState.SENT
        )
        _delivery_event(delivery, DeliveryState.SENT, "")
    return "sent"


def _failed(delivery: Delivery, attempt: DeliveryAttempt, exc: TransportError) -> str:
    now = timezone.now()
    permanent = exc.permanent or delivery.attempts >= settings.FRONTDESK_DELIVERY_MAX_ATTEMPTS
    with transaction.atomic():
        attempt.finished_at = now
        attempt.permanent = exc.permanent
        attempt.detail = exc.message[:2000]
        attempt.save(update_fields=["finished_at", "permanent", "detail"])
        if exc.disable_channel:
            Channel.objects.filter(pk=delivery.channel_id).update(
                last_error=exc.message[:2000], last_error_at=now
            )
        if permanent:
            Delivery.objects.filter(pk=delivery.pk).update(
                status=DeliveryStatus.FAILED, last_error=exc.message[:2000], claimed_until=None
            )
            Message.objects.filter(pk=delivery.message_id).update(
                delivery_state=DeliveryState.FAILED, delivery_error=exc.message[:2000]
            )
            _delivery_event(delivery, DeliveryState.FAILED, exc.message)
            log.warning(
                "delivery.failed", delivery=delivery.pk, attempts=delivery.attempts, error=exc.message
            )
            return "failed"
        delay = backoff(delivery.attempts)
        if exc.retry_after:
            # The provider said how long to wait (Retry-After); never sooner, never beyond 6 h.
            delay = max(delay, dt.timedelta(seconds=min(exc.retry_after, 6 * 3600)))
        retry_at = now + delay
        Delivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.PENDING,
            last_error=exc.message[:2000],
            next_attempt_at=retry_at,
            claimed_until=None,
        )
        Message.objects.filter(pk=delivery.message_id).update(delivery_error=exc.message[:2000])
        from ..worker.tasks import send_delivery

        send_delivery.using(run_after=retry_at).enqueue(delivery.pk)
    log.info("delivery.retry", delivery=delivery.pk, attempts=delivery.attempts, at=retry_at.isoformat())
    return "retry"


def _delivery_event(delivery: Delivery, state: str, error: str) -> None:
    conversation = delivery.message.conversation
    record_event(
        delivery.tenant_id,
        "message.delivery_changed",
        conversation=conversation,
        data={"message": delivery.message_id, "state": state, "error": error[:500]},
    )


def sweep_deliveries(now: dt.datetime | None = None) -> int:
    """Re-queue deliveries whose sender vanished (claim expired) or whose task went missing."""
    from ..worker.tasks import send_delivery

    now = now or timezone.now()
    stuck = Delivery.objects.filter(status=DeliveryStatus.SENDING, claimed_until__lt=now).values_list(
        "pk", flat=True
    )
    count = 0
    for pk in list(stuck[:500]):
        with transaction.atomic():
            if Delivery.objects.filter(pk=pk, status=DeliveryStatus.SENDING, claimed_until__lt=now).update(
                status=DeliveryStatus.PENDING, next_attempt_at=now, claimed_until=None
            ):
                send_delivery.enqueue(pk)
                count += 1
    return count


def do_retry_delivery(message: Message) -> Delivery | None:
    """An agent asks to send a failed message again: a fresh series of attempts."""
    from ..worker.tasks import send_delivery

    delivery = message.deliveries.filter(status=DeliveryStatus.FAILED).order_by("-id").first()
    if delivery is None:
        return None
    with transaction.atomic():
        Delivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=timezone.now(), last_error=""
        )
        Message.objects.filter(pk=message.pk).update(delivery_state=DeliveryState.QUEUED, delivery_error="")
        send_delivery.enqueue(delivery.pk)
        _delivery_event(delivery, DeliveryState.QUEUED, "")
    return delivery


def mark_bounced(message: Message, *, recipients: list[str], detail: str) -> None:
    """The recipient's server bounced a message we had sent: its delivery failed after all.

    Called inside the transaction that stores the bounce. The agent sees the server's answer on
    the message, as for any failed delivery, and can send again once the address is fixed.
    """
    delivery = message.deliveries.order_by("-id").first()
    if delivery is not None:
        Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED, last_error=detail[:2000])
    Message.objects.filter(pk=message.pk).update(
        delivery_state=DeliveryState.FAILED, delivery_error=detail[:2000]
    )
    record_event(
        message.tenant_id,
        "message.delivery_changed",
        conversation=message.conversation,
        data={
            "message": message.pk,
            "state": DeliveryState.FAILED,
            "error": detail[:500],
            "bounced": recipients[:5],
        },
    )
