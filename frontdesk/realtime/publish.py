"""Fan-out of committed events to every open agent page of the tenant (through the channel layer).

In one process the in-memory layer suffices; with REDIS_URL the Redis layer carries events between
processes, so a message received by one server reaches agents connected to another.
"""

from __future__ import annotations

from typing import Any

import structlog
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

log = structlog.get_logger(__name__)


def tenant_group(tenant_id: int) -> str:
    return f"tenant.{tenant_id}"


def publish_tenant_event(tenant_id: int, payload: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(tenant_group(tenant_id), {"type": "desk.event", "event": payload})
    except Exception:
        # The change is committed and stored as an Event; clients catch up from the stream on
        # reconnect. A failed push must not fail the request that made the change.
        log.exception("realtime.publish_failed", tenant=tenant_id, kind=payload.get("kind"))
