"""What agents do to conversations: reply, note, assign, status, priority, tags, snooze, merge.

Each `do_*` validates with its `check_*` first, writes in one transaction, records events (pushed
to agents after commit) and enqueues deliveries in the same transaction (the outbox).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from frontdesk.channels.base import InboundAttachment

from ..errors import Conflict, Forbidden, Invalid
from ..events import record_event
from ..lib.mentions import mentioned_handles
from ..models import (
    AuthorKind,
    Channel,
    Conversation,
    DeliveryState,
    Direction,
    Membership,
    Message,
    Priority,
    Status,
    Tag,
    Team,
)
from . import sla
from .attachments import check_attachments, store_attachments
from .chat import handover_route
from .outbox import enqueue_delivery
from .routing import note_answer

UNSET: Any = object()


def _check_member(member: Membership, conversation: Conversation) -> None:
    if not member.is_active or member.tenant_id != conversation.tenant_id:
        raise Forbidden()
    if conversation.merged_into_id:
        raise Conflict(
            _("This conversation was merged into another; work in that one."), code="conversation_merged"
        )


def _check_text(text: str, files: Sequence[InboundAttachment]) -> str:
    text = (text or "").strip()
    if not text and not files:
        raise Invalid(
            _("Write something first."), code="empty", fields={"text": [_("This field is required.")]}
        )
    if len(text) > settings.FRONTDESK_MAX_MESSAGE_CHARS:
        raise Invalid(
            _("The message is longer than %(n)d characters.") % {"n": settings.FRONTDESK_MAX_MESSAGE_CHARS},
            code="message_too_long",
            fields={"text": [_("Too long.")]},
        )
    check_attachments(files)
    return text


def reply_channels(conversation: Conversation) -> list[Channel]:
    """Channels a reply can go out through: the customer's choice first, then where they wrote,
    then any other sending channel of the tenant for which the customer has an address."""
    kinds = {i.kind for i in conversation.customer.identities.all()}
    ordered: list[Channel] = []
    candidates = [conversation.reply_channel, conversation.channel]
    candidates += list(
        Channel.objects.filter(tenant_id=conversation.tenant_id, disabled=False).order_by("name")
    )
    for channel in candidates:
        if channel is None or channel.disabled or channel in ordered:
            continue
        caps = channel.adapter.capabilities
        if caps.can_send and caps.recipient_kind in kinds:
            ordered.append(channel)
    return ordered


def check_reply(
    member: Membership,
    conversation: Conversation,
    text: str,
    *,
    channel: Channel | None,
    files: Sequence[InboundAttachment] = (),
    status: str | None = None,
) -> tuple[str, Channel, str]:
    _check_member(member, conversation)
    text = _check_text(text, files)
    channel = channel or conversation.effective_reply_channel
    if channel.tenant_id != conversation.tenant_id:
        raise Invalid(fields={"channel": [_("Unknown channel.")]})
    if channel.disabled:
        raise Invalid(
            _("The channel %(name)s is disabled.") % {"name": channel.name}, code="channel_disabled"
        )
    caps = channel.adapter.capabilities
    if not caps.can_send:
        raise Invalid(
            _("Replies cannot be sent through %(name)s.") % {"name": channel.name}, code="cannot_send"
        )
    if caps.max_length and len(text) > caps.max_length:
        raise Invalid(
            _("%(name)s takes at most %(n)d characters.") % {"name": channel.name, "n": caps.max_length},
            code="message_too_long",
        )
    if files and not caps.attachments:
        raise Invalid(_("%(name)s cannot send attachments.") % {"name": channel.name}, code="no_attachments")
    identity = conversation.customer.identity(caps.recipient_kind)
    if identity is None:
        raise Invalid(
            _("The customer has no address for %(name)s.") % {"name": channel.name}, code="no_recipient"
        )
    if status is not None and status not in Status.values:
        raise Invalid(fields={"status": [_("Unknown status.")]})
    # A chat the visitor has left continues where they can read it (the email they gave).
    handover = handover_route(conversation, channel)
    if handover is not None:
        return text, *handover
    return text, channel, identity.address


def do_reply(
    member: Membership,
    conversation: Conversation,
    text: str,
    *,
    channel: Channel | None = None,
    files: Sequence[InboundAttachment] = (),
    status: str | None = None,
) -> Message:
    """Answer the customer. The message is stored and queued for delivery in one transaction.

    Unless `status` says otherwise, a new or open conversation becomes pending (waiting on the customer).
    """
    text, channel, recipient = check_reply(
        member, conversation, text, channel=channel, files=files, status=status
    )
    now = timezone.now()
    with transaction.atomic():
        message = Message.objects.create(
            tenant_id=conversation.tenant_id,
            conversation=conversation,
            direction=Direction.OUT,
            channel=channel,
            author_kind=AuthorKind.AGENT,
            author=member,
            text=text,
            delivery_state=DeliveryState.QUEUED,
            created_at=now,
        )
        store_attachments(message, files)
        enqueue_delivery(message, channel, recipient)
        note_answer(conversation, member)
        fields = ["last_message_at", "waiting_since", "updated_at"]
        conversation.last_message_at = now
        conversation.waiting_since = None
        conversation.updated_at = now
        fields += sla.on_reply(conversation, now)  # before first_response_at is set
        if conversation.first_response_at is None:
            conversation.first_response_at = now
            fields.append("first_response_at")
            if conversation.promised_by is not None:
                conversation.promise_kept = now <= conversation.promised_by
                fields.append("promise_kept")
        conversation.save(update_fields=fields)
        record_event(
            conversation.tenant_id,
            "message.created",
            conversation=conversation,
            actor=member,
            data={"message": message.pk, "direction": Direction.OUT, "channel": channel.pk},
        )
        new_status = status or (Status.PENDING if conversation.status in (Status.NEW, Status.OPEN) else None)
        if new_status and new_status != conversation.status:
            _set_status(member, conversation, new_status, reason="replied")
    return message


def _handles(member: Membership) -> dict[str, Membership]:
    """Every active member of the tenant by the handles they can be @mentioned with."""
    result: dict[str, Membership] = {}
    for m in Membership.objects.filter(tenant_id=member.tenant_id, is_active=True).select_related("user"):
        result[m.user.email.split("@")[0].lower()] = m
        if m.user.name:
            result.setdefault(m.user.name.split()[0].lower(), m)
    return result


def do_add_note(
    member: Membership, conversation: Conversation, text: str, *, files: Sequence[InboundAttachment] = ()
) -> Message:
    """An internal note: never sent to the customer. @mentions notify the members named."""
    _check_member(member, conversation)
    text = _check_text(text, files)
    handles = _handles(member)
    mentioned = [handles[h] for h in mentioned_handles(text) if h in handles]
    now = timezone.now()
    with transaction.atomic():
        message = Message.objects.create(
            tenant_id=conversation.tenant_id,
            conversation=conversation,
            direction=Direction.NOTE,
            author_kind=AuthorKind.AGENT,
            author=member,
            text=text,
            created_at=now,
        )
        store_attachments(message, files)
        if mentioned:
            message.mentions.set(mentioned)
        conversation.updated_at = now
        conversation.save(update_fields=["updated_at"])
        record_event(
            conversation.tenant_id,
            "message.created",
            conversation=conversation,
            actor=member,
            data={"message": message.pk, "direction": Direction.NOTE},
        )
        for m in {m.pk: m for m in mentioned}.values():
            record_event(
                conversation.tenant_id,
                "member.mentioned",
                conversation=conversation,
                actor=member,
                data={"member": m.pk, "message": message.pk},
            )
    return message


def check_assign(
    member: Membership, conversation: Conversation, assignee: Membership | None, team: Team | None
) -> None:
    _check_member(member, conversation)
    if assignee is not None and (assignee.tenant_id != conversation.tenant_id or not assignee.is_active):
        raise Invalid(fields={"assignee": [_("Unknown member.")]})
    if team is not None and team.tenant_id != conversation.tenant_id:
        raise Invalid(fields={"team": [_("Unknown team.")]})


def do_assign(
    member: Membership | None,
    conversation: Conversation,
    *,
    assignee: Membership | None = UNSET,
    team: Team | None = UNSET,
) -> Conversation:
    """Assign to a member and/or a team; None unassigns. `member` None means the system did it."""
    new_assignee = conversation.assignee if assignee is UNSET else assignee
    new_team = conversation.team if team is UNSET else team
    if member is not None:
        check_assign(member, conversation, new_assignee, new_team)
    if new_assignee == conversation.assignee and new_team == conversation.team:
        return conversation
    before = {"assignee": conversation.assignee_id, "team": conversation.team_id}
    # No savepoint when nested (the chat router assigns inside the message's transaction): nothing
    # catches a failure here to carry on, so it can only roll back everything.
    with transaction.atomic(savepoint=False):
        conversation.assignee = new_assignee
        conversation.team = new_team
        conversation.updated_at = timezone.now()
        conversation.save(update_fields=["assignee", "team", "updated_at"])
        if conversation.team_id != before["team"]:
            sla.on_routing_changed(conversation)
        record_event(
            conversation.tenant_id,
            "conversation.assigned",
            conversation=conversation,
            actor=member,
            data={
                "from": before,
                "assignee": new_assignee.pk if new_assignee else None,
                "assignee_name": new_assignee.display_name if new_assignee else None,
                "team": new_team.pk if new_team else None,
                "team_name": new_team.name if new_team else None,
            },
        )
    return conversation


def _set_status(member: Membership | None, conversation: Conversation, status: str, *, reason: str) -> None:
    before = conversation.status
    now = timezone.now()
    conversation.status = status
    conversation.updated_at = now
    fields = ["status", "updated_at"]
    if status in (Status.RESOLVED, Status.CLOSED):
        conversation.resolved_at = conversation.resolved_at or now
        conversation.snoozed_until = None
        fields += ["resolved_at", "snoozed_until"]
    elif conversation.resolved_at is not None:
        conversation.resolved_at = None
        fields.append("resolved_at")
    fields += sla.on_status(conversation, before, status, now)
    conversation.save(update_fields=fields)
    record_event(
        conversation.tenant_id,
        "conversation.status_changed",
        conversation=conversation,
        actor=member,
        data={"from": before, "to": status, "reason": reason},
    )


def do_set_status(member: Membership, conversation: Conversation, status: str) -> Conversation:
    _check_member(member, conversation)
    if status not in Status.values:
        raise Invalid(fields={"status": [_("Unknown status.")]})
    if status == Status.NEW and conversation.status != Status.NEW:
        raise Invalid(_("A conversation cannot go back to new."), fields={"status": [_("Not allowed.")]})
    if status != conversation.status:
        with transaction.atomic():
            _set_status(member, conversation, status, reason="agent")
    return conversation


def do_set_priority(member: Membership, conversation: Conversation, priority: str) -> Conversation:
    _check_member(member, conversation)
    if priority not in Priority.values:
        raise Invalid(fields={"priority": [_("Unknown priority.")]})
    if priority != conversation.priority:
        before = conversation.priority
        with transaction.atomic():
            conversation.priority = priority
            conversation.updated_at = timezone.now()
            conversation.save(update_fields=["priority", "updated_at"])
            sla.on_routing_changed(conversation)
            record_event(
                conversation.tenant_id,
                "conversation.priority_changed",
                conversation=conversation,
                actor=member,
                data={"from": before, "to": priority},
            )
    return conversation


def do_set_tags(member: Membership, conversation: Conversation, tags: Iterable[Tag]) -> Conversation:
    """Make the conversation's tags exactly `tags`."""
    _check_member(member, conversation)
    wanted = {t.pk: t for t in tags}
    if any(t.tenant_id != conversation.tenant_id for t in wanted.values()):
        raise Invalid(fields={"tags": [_("Unknown tag.")]})
    current = {t.pk: t for t in conversation.tags.all()}
    added = [wanted[pk] for pk in wanted.keys() - current.keys()]
    removed = [current[pk] for pk in current.keys() - wanted.keys()]
    if not added and not removed:
        return conversation
    with transaction.atomic():
        conversation.tags.add(*added)
        conversation.tags.remove(*removed)
        conversation.updated_at = timezone.now()
        conversation.save(update_fields=["updated_at"])
        record_event(
            conversation.tenant_id,
            "conversation.tags_changed",
            conversation=conversation,
            actor=member,
            data={"added": sorted(t.name for t in added), "removed": sorted(t.name for t in removed)},
        )
    return conversation


def do_snooze(member: Membership, conversation: Conversation, until: dt.datetime | None) -> Conversation:
    """Hide the conversation from the queue until `until` (None wakes it now)."""
    _check_member(member, conversation)
    if until is not None:
        if until.tzinfo is None:
            raise Invalid(fields={"until": [_("A time zone is required.")]})
        if until <= timezone.now():
            raise Invalid(_("Choose a time in the future."), fields={"until": [_("Must be in the future.")]})
        if conversation.status in (Status.RESOLVED, Status.CLOSED):
            raise Conflict(_("A resolved conversation cannot be snoozed."), code="not_active")
    with transaction.atomic():
        conversation.snoozed_until = until
        conversation.updated_at = timezone.now()
        conversation.save(update_fields=["snoozed_until", "updated_at"])
        record_event(
            conversation.tenant_id,
            "conversation.snoozed" if until else "conversation.unsnoozed",
            conversation=conversation,
            actor=member,
            data={"until": until.isoformat() if until else None},
        )
    return conversation


def wake_snoozed(now: dt.datetime | None = None) -> int:
    """Bring back every conversation whose snooze has run out. Run by the scheduler."""
    now = now or timezone.now()
    woken = 0
    for conversation in Conversation.objects.filter(snoozed_until__lte=now).select_related("tenant")[:500]:
        with transaction.atomic():
            updated = Conversation.objects.filter(pk=conversation.pk, snoozed_until__lte=now).update(
                snoozed_until=None, updated_at=now
            )
            if updated:
                record_event(
                    conversation.tenant_id,
                    "conversation.unsnoozed",
                    conversation=conversation,
                    data={"until": None, "reason": "snooze_ended"},
                )
                woken += 1
    return woken


def check_merge(member: Membership, source: Conversation, target: Conversation) -> None:
    _check_member(member, source)
    _check_member(member, target)
    if source.pk == target.pk:
        raise Invalid(_("A conversation cannot be merged into itself."), code="same_conversation")
    if source.customer_id != target.customer_id:
        raise Conflict(
            _("Only conversations of the same customer can be merged."), code="different_customers"
        )


def do_merge(member: Membership, source: Conversation, target: Conversation) -> Conversation:
    """Move every message of `source` into `target`; source is closed and points at target."""
    check_merge(member, source, target)
    now = timezone.now()
    with transaction.atomic():
        Message.objects.filter(conversation=source).update(conversation=target)
        target.tags.add(*source.tags.all())
        target.last_message_at = max(target.last_message_at, source.last_message_at)
        if source.waiting_since and (not target.waiting_since or source.waiting_since < target.waiting_since):
            target.waiting_since = source.waiting_since
        target.updated_at = now
        target.save(update_fields=["last_message_at", "waiting_since", "updated_at"])
        source.merged_into = target
        source.status = Status.CLOSED
        source.resolved_at = source.resolved_at or now
        source.snoozed_until = None
        source.updated_at = now
        source.save(update_fields=["merged_into", "status", "resolved_at", "snoozed_until", "updated_at"])
        data = {"source": source.number, "target": target.number}
        record_event(source.tenant_id, "conversation.merged", conversation=source, actor=member, data=data)
        record_event(target.tenant_id, "conversation.merged", conversation=target, actor=member, data=data)
    return target


def do_set_reply_channel(
    actor: Membership | None, conversation: Conversation, channel: Channel | None
) -> Conversation:
    """Record the customer's choice of where answers should go (None: where they last wrote)."""
    if actor is not None:
        _check_member(actor, conversation)
    if channel is not None:
        if channel.tenant_id != conversation.tenant_id:
            raise Invalid(fields={"channel": [_("Unknown channel.")]})
        if channel.adapter.capabilities.recipient_kind not in {
            i.kind for i in conversation.customer.identities.all()
        }:
            raise Invalid(
                _("The customer has no address for %(name)s.") % {"name": channel.name}, code="no_recipient"
            )
    with transaction.atomic():
        conversation.reply_channel = channel
        conversation.updated_at = timezone.now()
        conversation.save(update_fields=["reply_channel", "updated_at"])
        record_event(
            conversation.tenant_id,
            "conversation.reply_channel_changed",
            conversation=conversation,
            actor=actor,
            data={
                "channel": channel.pk if channel else None,
                "channel_name": channel.name if channel else None,
            },
        )
    return conversation


def other_conversations(conversation: Conversation) -> Any:
    """The customer's other conversations, newest first (for the customer panel and merging)."""
    return (
        Conversation.objects.filter(tenant_id=conversation.tenant_id, customer_id=conversation.customer_id)
        .filter(~Q(pk=conversation.pk), merged_into=None)
        .order_by("-last_message_at")
    )
