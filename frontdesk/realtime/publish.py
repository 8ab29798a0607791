"""Fan-out of committed events to every open agent page of the tenant (through the channel layer).

In one process the in-memory layer suffices; with REDIS_URL the Redis layer carries events between
processes, so a message received by one server reaches agents connected to another.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import structlog
from channels.layers import get_channel_layer

log = structlog.get_logger(__name__)

# How long a publishing thread waits for the serving event loop to take the message.
PUBLISH_TIMEOUT_SECONDS = 5.0

# The event loop that serves WebSockets in this process (set by the first consumer that connects).
_serving_loop: asyncio.AbstractEventLoop | None = None
# Where processes without one (`frontdesk worker`, commands) publish: one long-lived loop, so the
# Redis layer keeps one connection instead of opening one per event.
_publisher_loop: asyncio.AbstractEventLoop | None = None
_publisher_lock = threading.Lock()


def tenant_group(tenant_id: int) -> str:
    return f"tenant.{tenant_id}"


def bind_serving_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Remember the loop the consumers run on, so other threads can hand it messages."""
    global _serving_loop
    _serving_loop = loop


def _running_on(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _publisher() -> asyncio.AbstractEventLoop:
    global _publisher_loop
    with _publisher_lock:
        if _publisher_loop is None or _publisher_loop.is_closed():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="realtime-publisher", daemon=True).start()
            _publisher_loop = loop
        return _publisher_loop


def send_to_group(group: str, message: dict[str, Any]) -> None:
    """group_send from synchronous code in any thread of this process (never from a coroutine).

    The in-memory layer keeps asyncio queues that belong to the serving loop: a worker or scheduler
    thread that pushed into them from a loop of its own would not wake the consumer (and is not
    thread-safe). So when a serving loop runs here, the send runs on it; otherwise (a `frontdesk
    worker` process, a command) on this module's publisher loop.
    """
    layer = get_channel_layer()
    if layer is None:
        return
    loop = _serving_loop
    if loop is None or not loop.is_running() or loop.is_closed():
        loop = _publisher()
    if _running_on(loop):
        raise RuntimeError("send_to_group() called from the event loop itself; await group_send instead")
    future = asyncio.run_coroutine_threadsafe(layer.group_send(group, message), loop)
    future.result(timeout=PUBLISH_TIMEOUT_SECONDS)


_muted = threading.local()


@contextlib.contextmanager
def muted() -> Iterator[None]:
    """Record events without pushing them live, in this thread (bulk loads such as the demo: open
    pages catch up from the event stream as after any gap)."""
    _muted.on = True
    try:
        yield
    finally:
        _muted.on = False


def publish_tenant_event(tenant_id: int, payload: dict[str, Any]) -> None:
    if getattr(_muted, "on", False):
        return
    try:
        send_to_group(tenant_group(tenant_id), {"type": "desk.event", "event": payload})
    except Exception:
        # The change is committed and stored as an Event; clients catch up from the stream on
        # reconnect. A failed push must not fail the request that made the change.
        log.exception("realtime.publish_failed", tenant=tenant_id, kind=payload.get("kind"))


def ring_group(group: str, message: dict[str, Any]) -> None:
    """group_send after commit from synchronous code; a failure is logged, never raised (the
    receivers catch up from the database when they reconnect)."""
    if getattr(_muted, "on", False):
        return
    try:
        send_to_group(group, message)
    except Exception:
        log.exception("realtime.publish_failed", group=group, kind=message.get("kind"))
