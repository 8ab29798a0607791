"""Fan-out of committed events to every open agent page of the tenant (through the channel layer).

In one process the in-memory layer suffices; with REDIS_URL the Redis layer carries events between
processes, so a message received by one server reaches agents connected to another.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import threading
import weakref
from collections.abc import Iterator
from typing import Any

import structlog
from channels.layers import get_channel_layer

log = structlog.get_logger(__name__)

# Messages waiting for an event loop to hand them to the channel layer; beyond this many (a loop
# that stopped taking them) new ones are dropped and logged: clients catch up from the database.
MAX_WAITING = 100_000

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


class _Outbox:
    """Messages for one event loop, sent in the order they were queued by one task on that loop.

    Threads queue and return at once: a database thread must not wait for a busy event loop after
    every commit (on SQLite it still holds the process's write lock then, so every other writer
    would wait too). One drain task per loop keeps the order: what one thread committed first is
    sent first.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        # Weak: the outbox lives in a WeakKeyDictionary keyed by its loop and must not keep it alive.
        self.loop = weakref.ref(loop)
        self.task: asyncio.Task[None] | None = None  # asyncio keeps only weak references to tasks
        self.waiting: collections.deque[tuple[str, dict[str, Any]]] = collections.deque()
        self.lock = threading.Lock()
        self.draining = False

    def put(self, group: str, message: dict[str, Any]) -> None:
        with self.lock:
            if len(self.waiting) >= MAX_WAITING:
                log.error("realtime.publish_dropped", group=group, kind=message.get("kind"))
                return
            self.waiting.append((group, message))
            if self.draining:
                return
            self.draining = True
        loop = self.loop()
        try:
            if loop is None:
                raise RuntimeError("loop gone")
            loop.call_soon_threadsafe(self._start)
        except RuntimeError:  # the loop closed meanwhile: nobody is left to hear it
            with self.lock:
                self.waiting.clear()
                self.draining = False

    def _start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        layer = get_channel_layer()
        while True:
            with self.lock:
                if not self.waiting:
                    self.draining = False
                    return
                group, message = self.waiting.popleft()
            try:
                if layer is not None:
                    await layer.group_send(group, message)
            except Exception:
                # The change is committed and stored; clients catch up from the database when they
                # reconnect. A failed push must not stop the ones after it.
                log.exception("realtime.publish_failed", group=group, kind=message.get("kind"))


_outboxes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Outbox] = weakref.WeakKeyDictionary()
_outboxes_lock = threading.Lock()


def _outbox(loop: asyncio.AbstractEventLoop) -> _Outbox:
    with _outboxes_lock:
        box = _outboxes.get(loop)
        if box is None:
            box = _outboxes[loop] = _Outbox(loop)
        return box


def send_to_group(group: str, message: dict[str, Any]) -> None:
    """group_send from synchronous code in any thread of this process (never from a coroutine);
    returns at once, the send happens on an event loop soon after, in the order of the calls.

    The in-memory layer keeps asyncio queues that belong to the serving loop: a worker or scheduler
    thread that pushed into them from a loop of its own would not wake the consumer (and is not
    thread-safe). So when a serving loop runs here, the send runs on it; otherwise (a `frontdesk
    worker` process, a command) on this module's publisher loop.
    """
    if get_channel_layer() is None:
        return
    loop = _serving_loop
    if loop is None or not loop.is_running() or loop.is_closed():
        loop = _publisher()
    if _running_on(loop):
        raise RuntimeError("send_to_group() called from the event loop itself; await group_send instead")
    _outbox(loop).put(group, message)


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
