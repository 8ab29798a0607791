"""Offering live chats to agents: a new chat goes to an available agent with free capacity; a chat
nobody answered in time goes to the next one.

An offer is an assignment the router made (a ChatOffer row records it). The agent's first answer
closes it; `reoffer_chats`, run by the scheduler every few seconds, passes on the ones that waited
longer than the channel's `reoffer_seconds`. Agents who were offered a chat already are tried last,
so a chat goes round everyone available before coming back.
"""

from __future__ import annotations

import datetime as dt

import structlog
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from ..events import record_event
from ..models import ACTIVE_STATUSES, Channel, ChatOffer, Conversation, Membership, Status

log = structlog.get_logger(__name__)

# The shortest reoffer_seconds a channel may set: offers younger than this are never looked at.
MIN_REOFFER_SECONDS = 15


def offer_if_waiting(conversation: Conversation) -> Membership | None:
    """Offer a live conversation nobody has to the best available agent. Inside the caller's
    transaction (the message that made it wait)."""
    if conversation.assignee_id is not None or conversation.status not in ACTIVE_STATUSES:
        return None
    return _offer(conversation, tried=set())


def _offer(conversation: Conversation, tried: set[int]) -> Membership | None:
    from .chat import available_agents
    from .conversations import do_assign

    agents = available_agents(conversation.channel)
    if not agents:
        return None
    fresh = [a for a in agents if a.pk not in tried and a.pk != conversation.assignee_id]
    if not fresh:
        # Everyone available had it once: start the round again, but not with the current agent.
        fresh = [a for a in agents if a.pk != conversation.assignee_id]
    agent = next((a for a in fresh if _still_has_room(a, conversation)), None)
    if agent is None:
        return None
    do_assign(None, conversation, assignee=agent)
    ChatOffer.objects.create(tenant_id=conversation.tenant_id, conversation=conversation, member=agent)
    record_event(
        conversation.tenant_id,
        "chat.offered",
        conversation=conversation,
        data={"member": agent.pk, "member_name": agent.display_name},
    )
    return agent


def _still_has_room(agent: Membership, conversation: Conversation) -> bool:
    """Lock the agent's row and count again: two chats arriving at once must not both take an
    agent's last free place (the lock holds until the caller's transaction ends).

    SQLite has no row locks and needs none: the caller's transaction began IMMEDIATE, so it holds
    the database's one write lock, and the count `available_agents` just made cannot change."""
    if agent.capacity == 0 or not connection.features.has_select_for_update:
        return True
    Membership.objects.select_for_update().filter(pk=agent.pk).first()
    open_chats = Conversation.objects.filter(
        assignee=agent,
        status__in=[*ACTIVE_STATUSES, Status.PENDING],
        channel__kind=conversation.channel.kind,
    ).count()
    return open_chats < agent.capacity


def note_answer(conversation: Conversation, member: Membership) -> None:
    """An agent answered: the open offer of this conversation is settled."""
    ChatOffer.objects.filter(conversation=conversation, answered_at=None, expired_at=None).update(
        answered_at=timezone.now()
    )


def reoffer_chats(now: dt.datetime | None = None) -> int:
    """Pass on offers that waited longer than their channel allows. Returns how many moved."""
    now = now or timezone.now()
    moved = 0
    waiting = ChatOffer.objects.filter(
        answered_at=None, expired_at=None, offered_at__lte=now - dt.timedelta(seconds=MIN_REOFFER_SECONDS)
    )
    # Each channel's own limit, read once per channel (not once per offer: this runs every 5 s).
    due_by_channel = Q()
    for channel in Channel.objects.filter(pk__in=waiting.values("conversation__channel_id").distinct()).only(
        "pk", "kind", "config"
    ):
        seconds = channel.adapter.config(channel).reoffer_seconds
        due_by_channel |= Q(
            conversation__channel=channel, offered_at__lte=now - dt.timedelta(seconds=seconds)
        )
    if not due_by_channel:
        return 0
    due = waiting.filter(due_by_channel).select_related("conversation__channel").order_by("offered_at")[:200]
    for offer in due:
        conversation = offer.conversation
        config = conversation.channel.adapter.config(conversation.channel)
        with transaction.atomic():
            current = Conversation.objects.select_for_update().get(pk=conversation.pk)
            settled = current.status not in ACTIVE_STATUSES or current.assignee_id != offer.member_id
            if settled:
                # Resolved, or someone (re)assigned it by hand: nothing to pass on.
                ChatOffer.objects.filter(pk=offer.pk).update(expired_at=now)
                continue
            tried = set(ChatOffer.objects.filter(conversation=current).values_list("member_id", flat=True))
            agent = _offer(current, tried)
            if agent is None:
                continue  # nobody else is free: the agent keeps it and it is tried again later
            ChatOffer.objects.filter(pk=offer.pk).update(expired_at=now)
            record_event(
                current.tenant_id,
                "chat.passed_on",
                conversation=current,
                data={"from": offer.member_id, "to": agent.pk, "after_seconds": config.reoffer_seconds},
            )
            moved += 1
    if moved:
        log.info("chat.reoffered", count=moved)
    return moved


def offer_waiting_chats(now: dt.datetime | None = None) -> int:
    """Offer live chats that nobody could take when they came in (every agent was busy or away)
    as soon as someone is free: oldest waiting first. Returns how many were offered."""
    now = now or timezone.now()
    from frontdesk.channels.registry import ADAPTERS, get_adapter

    live_kinds = [kind for kind in ADAPTERS if get_adapter(kind).capabilities.live]
    waiting = list(
        Conversation.objects.filter(
            channel__kind__in=live_kinds,
            assignee=None,
            status__in=ACTIVE_STATUSES,
            waiting_since__gte=now - dt.timedelta(hours=WAITING_HOURS),
            merged_into=None,
        )
        .select_related("channel")
        .order_by("waiting_since")[:100]
    )
    offered = 0
    # Channels where nobody is free this round: their other chats need not be tried.
    full: set[int] = set()
    for conversation in waiting:
        if conversation.channel_id in full:
            continue
        with transaction.atomic():
            current = Conversation.objects.select_for_update().get(pk=conversation.pk)
            current.channel = conversation.channel
            if offer_if_waiting(current) is not None:
                offered += 1
            elif current.assignee_id is None:
                full.add(conversation.channel_id)
    return offered


# A chat that waited longer than this is no longer a live chat: it waits in the queue like a message.
WAITING_HOURS = 4
