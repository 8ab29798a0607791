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
    return event


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
