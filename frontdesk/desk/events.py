"""Recording events and pushing them out after commit.

`record_event` writes the Event row inside the caller's transaction; the real-time push (and any
other side effect hooked on events) runs only once that transaction commits, so nobody is ever
told about a change that rolled back.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from .models import Conversation, Event, Membership, Tenant


def record_event(
    tenant: Tenant | int,
    kind: str,
    *,
    conversation: Conversation | None = None,
    actor: Membership | None = None,
    data: dict[str, Any] | None = None,
) -> Event:
    tenant_id = tenant if isinstance(tenant, int) else tenant.pk
    event = Event.objects.create(
        tenant_id=tenant_id, kind=kind, conversation=conversation, actor=actor, data=data or {}
    )
    send_event_on_commit(event, conversation_number=conversation.number if conversation else None)
    if conversation is not None and _customer_sees(kind, event.data) and _is_live(conversation.channel_id):
        ring_customer_on_commit(conversation.customer_id, kind, conversation.number, event.data)
    return event


# Events the customer's own open chat widgets hear of (realtime/visitor.py then reads what changed).
CUSTOMER_EVENT_KINDS = ("message.created", "message.read", "message.delivery_")
_live_channels: dict[int, bool] = {}


def _customer_sees(kind: str, data: dict[str, Any]) -> bool:
    return kind.startswith(CUSTOMER_EVENT_KINDS) and data.get("direction") != "note"


def forget_live_channels() -> None:
    _live_channels.clear()


def _is_live(channel_id: int) -> bool:
    """Whether conversations of this channel have live widgets. A channel's kind never changes, so
    the answer is remembered for the life of the process."""
    live = _live_channels.get(channel_id)
    if live is None:
        from .models import Channel

        kind = Channel.objects.filter(pk=channel_id).values_list("kind", flat=True).first()
        if kind is None:
            return False
        from frontdesk.channels.registry import UnknownChannelKind, get_adapter

        try:
            live = get_adapter(kind).capabilities.live
        except UnknownChannelKind:
            live = False
        _live_channels[channel_id] = live
    return live


def ring_customer_on_commit(customer_id: int, kind: str, number: int | None, data: dict[str, Any]) -> None:
    """After commit, tell the customer's open widgets that something of theirs changed (no content:
    each widget's socket reads what it may see)."""
    from frontdesk.realtime.publish import ring_group

    message = {"type": "chat.doorbell", "kind": kind, "conversation": number, "data": data}
    transaction.on_commit(lambda: ring_group(f"customer.{customer_id}", message))


def event_payload(event: Event, *, conversation_number: int | None = None) -> dict[str, Any]:
    """What real-time clients receive: ids and what changed, never message bodies of notes."""
    return {
        "id": event.pk,
        "kind": event.kind,
        "conversation": conversation_number,
        "actor": event.actor_id,
        "data": event.data,
        "at": event.created_at.isoformat(),
    }


def send_event_on_commit(event: Event, *, conversation_number: int | None = None) -> None:
    from frontdesk.realtime.publish import publish_tenant_event

    payload = event_payload(event, conversation_number=conversation_number)
    tenant_id = event.tenant_id
    transaction.on_commit(lambda: publish_tenant_event(tenant_id, payload))
