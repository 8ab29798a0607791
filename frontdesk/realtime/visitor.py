"""The visitor WebSocket of the chat widget (/ws/chat/<channel public id>/). Protocol: docs/chat.md.

A socket is authenticated by the visitor token in its first frame (never in the URL, which ends up
in logs). It then listens on two groups: `chatvisitor.<id>` (this browser) and `customer.<id>` (the
customer it belongs to, on every device). Pushes on those groups are doorbells without content:
the socket reads from the database what changed, filtered to what this visitor may see, so a push
can never carry another customer's message or an internal note.

Order and no duplicates: messages are sent in id order and each id once per socket. Because ids are
assigned at insert and PostgreSQL may commit a smaller id after a larger one, every read also looks
at the last few seconds' messages again; the ids already sent are skipped.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

import structlog
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone, translation

from frontdesk.channels import ratelimit
from frontdesk.channels.base import InboundRejected
from frontdesk.desk.actions import chat as chat_actions
from frontdesk.desk.errors import ActionError
from frontdesk.desk.models import Channel, ChatVisitor, Conversation, Direction, Message

from .consumers import _Bucket, _event_id, dispatch_without_closing_connections
from .publish import bind_serving_loop, tenant_group

log = structlog.get_logger(__name__)
T = TypeVar("T")


# Visitors whose widgets pinged since the last flush: written in one UPDATE every few seconds
# instead of one write per ping (300 open widgets would otherwise write 15 times a second).
_heartbeats: set[int] = set()
_flusher: asyncio.Task[None] | None = None
HEARTBEAT_FLUSH_SECONDS = 10.0


def _flush_heartbeats(ids: list[int]) -> None:
    chat_actions.seen_now(ids)


async def _flush_heartbeats_forever() -> None:
    while True:
        await asyncio.sleep(HEARTBEAT_FLUSH_SECONDS)
        if not _heartbeats:
            continue
        batch = list(_heartbeats)
        _heartbeats.clear()
        try:
            await db(_flush_heartbeats)(batch)
        except Exception:
            log.exception("chat.heartbeats_not_written", visitors=len(batch))


def _start_heartbeat_flusher() -> None:
    global _flusher
    if _flusher is None or _flusher.done():
        _flusher = asyncio.get_running_loop().create_task(_flush_heartbeats_forever())


def db(func: Callable[..., T]) -> Callable[..., Any]:
    """Run database work in the thread pool, not on Channels' one shared thread: hundreds of widgets'
    reads then go on side by side (WAL on SQLite), and a commit waits only for the database lock."""
    return database_sync_to_async(_giving_back(func), thread_sensitive=False)  # type: ignore[call-arg]


def _giving_back(func: Callable[..., T]) -> Callable[..., T]:
    """With a connection pool (PostgreSQL), hand the connection back after each call: a pool thread
    would otherwise hold one for good, unchecked if the server dropped it. SQLite keeps its own
    per thread: opening one costs more than the work."""

    def wrapped(*args: Any, **kwargs: Any) -> T:
        try:
            return func(*args, **kwargs)
        finally:
            if getattr(connection, "pool", None) is not None:
                connection.close()

    return wrapped


CLOSE_BAD_HELLO = 4401
CLOSE_ORIGIN = 4403
CLOSE_UNKNOWN_CHANNEL = 4404
CLOSE_TOO_MANY = 4429
HELLO_SECONDS = 10.0
MAX_FRAME_CHARS = 8192
# Messages committed this recently are looked at again on every read (out-of-order commits).
RECENT = dt.timedelta(seconds=10)
SENT_IDS_REMEMBERED = 2000
# Sockets open at once from one address in this process (a shop's visitors share few addresses
# only behind carrier NAT; a few hundred is a bot). 0 switches the limit off.
_open_per_ip: dict[str, int] = {}


def visitor_group(visitor_id: int) -> str:
    return f"chatvisitor.{visitor_id}"


def _channel_for(public_id: str) -> tuple[Channel, Any] | None:
    from frontdesk.channels.views import find_channel

    channel = find_channel(public_id, kind="chat")
    if channel is None:
        return None
    return channel, channel.adapter.config(channel)


def _hello(channel: Channel, token: Any, page: Any) -> tuple[ChatVisitor, dict[str, Any]] | None:
    visitor = chat_actions.visitor_for_token(channel, token)
    if visitor is None:
        return None
    visitor.channel = channel
    chat_actions.touch_visitor(visitor.pk, page if isinstance(page, dict) else None)
    return visitor, chat_actions.availability(channel)


def _customer_id(visitor_id: int) -> int | None:
    return ChatVisitor.objects.filter(pk=visitor_id).values_list("customer_id", flat=True).first()


def _unsent(visitor: ChatVisitor, after: int, base_url: str) -> list[dict[str, Any]]:
    if visitor.customer_id is None:
        return []
    since = timezone.now() - RECENT
    rows = list(
        Message.objects.filter(
            tenant_id=visitor.tenant_id,
            conversation__channel_id=visitor.channel_id,
            conversation__customer_id=visitor.customer_id,
        )
        .filter(Q(id__gt=after) | Q(created_at__gte=since))
        .exclude(direction=Direction.NOTE)
        .select_related("conversation", "author__user")
        .prefetch_related("attachments")
        .order_by("-id")[: chat_actions.HISTORY_LIMIT]
    )
    rows.reverse()
    pid = str(visitor.channel.public_id)
    return [chat_actions.message_payload(m, base_url=base_url, channel_public_id=pid) for m in rows]


def _conversation_number_of(visitor: ChatVisitor, number: Any) -> int | None:
    """The visitor's conversation with this number (None for anything else)."""
    if (
        isinstance(number, int)
        and not isinstance(number, bool)
        and 0 < number < 2**31
        and chat_actions.visitor_conversations(visitor).filter(number=number).exists()
    ):
        return number
    latest = chat_actions.latest_conversation(visitor)
    return latest.number if latest else None


class VisitorConsumer(AsyncWebsocketConsumer):
    async def dispatch(self, message: dict[str, Any]) -> None:
        await dispatch_without_closing_connections(self, message)

    visitor: ChatVisitor | None = None
    closed = False
    ip = ""

    async def connect(self) -> None:
        bind_serving_loop(asyncio.get_running_loop())
        self.groups_joined: list[str] = []
        self.sent_ids: set[int] = set()
        self.sent_order: deque[int] = deque()
        self.cursor = 0
        self.typing_bucket = _Bucket(10, 1.0)
        self.seen_at = 0.0
        self.customer_id: int | None = None
        await self.accept()
        public_id = self.scope["url_route"]["kwargs"]["public_id"]
        found = await db(_channel_for)(public_id)
        if found is None:
            await self._close(CLOSE_UNKNOWN_CHANNEL)
            return
        self.channel, self.config = found
        origin = dict(self.scope.get("headers", [])).get(b"origin", b"").decode("latin-1")
        if not self.config.allows_origin(origin):
            await self._close(CLOSE_ORIGIN)
            return
        client = self.scope.get("client") or ("", 0)
        self.ip = str(client[0])
        limit = settings.FRONTDESK_CHAT_SOCKETS_PER_IP
        if limit and _open_per_ip.get(self.ip, 0) >= limit:
            self.ip = ""
            await self._close(CLOSE_TOO_MANY)
            return
        _open_per_ip[self.ip] = _open_per_ip.get(self.ip, 0) + 1
        self.base_url = settings.FRONTDESK_BASE_URL
        self.hello_timer = asyncio.get_running_loop().call_later(
            HELLO_SECONDS, lambda: asyncio.ensure_future(self._hello_timeout())
        )

    async def _hello_timeout(self) -> None:
        if self.visitor is None and not self.closed:
            await self._close(CLOSE_BAD_HELLO)

    async def disconnect(self, code: int) -> None:
        if self.ip:
            left = _open_per_ip.get(self.ip, 1) - 1
            if left > 0:
                _open_per_ip[self.ip] = left
            else:
                _open_per_ip.pop(self.ip, None)
            self.ip = ""
        timer = getattr(self, "hello_timer", None)
        if timer is not None:
            timer.cancel()
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        self.groups_joined = []

    # --- from the widget ----------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.closed:
            return
        if text_data is None or len(text_data) > MAX_FRAME_CHARS:
            await self._error("too_long", "Send JSON text frames of at most 8 KB")
            return
        try:
            content = json.loads(text_data)
        except ValueError:
            await self._error("invalid", "The frame is not valid JSON")
            return
        if not isinstance(content, dict):
            await self._error("invalid", "Send a JSON object with a type")
            return
        kind = content.get("type")
        if self.visitor is None:
            if kind != "hello":
                await self._close(CLOSE_BAD_HELLO)
                return
            await self._on_hello(content)
            return
        if kind == "message":
            await self._on_message(content)
        elif kind == "typing":
            await self._on_typing(content)
        elif kind == "read":
            up_to = _event_id(content.get("up_to"))
            if up_to is None:
                await self._error("invalid", "up_to must be a message id")
                return
            await db(chat_actions.do_mark_read_by_visitor)(self.visitor, up_to)
        elif kind == "page":
            await db(chat_actions.touch_visitor)(self.visitor.pk, content)
            self.seen_at = time.monotonic()
        elif kind == "ping":
            if time.monotonic() - self.seen_at > chat_actions.SEEN_WRITE_SECONDS:
                self.seen_at = time.monotonic()
                _heartbeats.add(self.visitor.pk)
                _start_heartbeat_flusher()
            await self._send({"type": "pong"})
        elif kind == "hello":
            await self._error("invalid", "Already said hello")
        else:
            await self._error("unknown_type", "type must be message, typing, read, page or ping")

    async def _on_hello(self, content: dict[str, Any]) -> None:
        found = await db(_hello)(self.channel, content.get("token"), content.get("page"))
        if found is None:
            await self._close(CLOSE_BAD_HELLO)
            return
        self.visitor, availability = found
        self.seen_at = time.monotonic()
        self.hello_timer.cancel()
        await self._join(visitor_group(self.visitor.pk))
        # Every group is joined before the welcome: a client that acts on the welcome (an agent
        # marking its messages read, say) must not ring a doorbell this socket cannot hear yet.
        await self._join_customer()
        await self._send({"type": "welcome", "visitor": self.visitor.public_id, "availability": availability})
        self.cursor = _event_id(content.get("after")) or 0
        await self._push_new()

    async def _on_message(self, content: dict[str, Any]) -> None:
        assert self.visitor is not None
        client_id = content.get("client_id")
        limited = await db(_limited)(self.visitor.public_id, self.ip)
        if limited is not None:
            await self._send(
                {
                    "type": "error",
                    "client_id": client_id if isinstance(client_id, str) else None,
                    "error": {"code": "rate_limited", "message": "Too many messages; wait a moment"},
                    "retry_after": limited,
                }
            )
            return
        try:
            result, payload = await db(_in_language(self.visitor.language, _receive))(
                self.visitor,
                self.base_url,
                client_id=client_id,
                text=content.get("text"),
                conversation=content.get("conversation"),
                invitation=content.get("invitation"),
                remote_addr=self.ip,
            )
        except (InboundRejected, ActionError) as exc:
            await self._send(
                {
                    "type": "error",
                    "client_id": client_id if isinstance(client_id, str) else None,
                    "error": {"code": exc.code, "message": str(exc.message)},
                }
            )
            return
        # Sent as the ack; the doorbell of the same message, and the read after joining the
        # customer's group below, then find it already sent.
        self._mark_sent(payload["id"])
        await self._send({"type": "ack", "client_id": client_id, "message": payload})
        if self.customer_id != result.conversation.customer_id:
            await self._refresh_customer()

    async def _on_typing(self, content: dict[str, Any]) -> None:
        assert self.visitor is not None
        state = content.get("state")
        if not isinstance(state, bool):
            await self._error("invalid", "state must be true or false")
            return
        if not self.typing_bucket.take():
            return  # typing is a hint: excess frames are dropped silently
        number = await db(_conversation_number_of)(self.visitor, content.get("conversation"))
        if number is None:
            return
        await self.channel_layer.group_send(
            tenant_group(self.visitor.tenant_id),
            {"type": "desk.typing", "conversation": number, "state": state, "who": "customer"},
        )

    # --- from the groups ----------------------------------------------------------------------

    async def chat_doorbell(self, message: dict[str, Any]) -> None:
        if self.visitor is None:
            return
        if message.get("kind") == "visitor.customer":
            if message.get("customer") is None or message.get("customer") != self.customer_id:
                await self._refresh_customer()  # else this socket sent the message and joined already
            return
        data = message.get("data") or {}
        if message.get("kind") == "message.created" and data.get("message") in self.sent_ids:
            return  # this socket's own message, acknowledged already
        if message.get("kind") == "message.read":
            data = message.get("data") or {}
            if data.get("by") == "agent":
                await self._send(
                    {"type": "read", "conversation": message.get("conversation"), "up_to": data.get("up_to")}
                )
            return
        await self._push_new()

    async def chat_typing(self, message: dict[str, Any]) -> None:
        if self.visitor is None:
            return
        await self._send(
            {
                "type": "typing",
                "conversation": message["conversation"],
                "name": message["name"],
                "state": message["state"],
            }
        )

    # --- helpers ------------------------------------------------------------------------------

    async def _refresh_customer(self) -> None:
        """Join the customer's group (the visitor became a customer, or was identified), then send
        what the widget lacks."""
        await self._join_customer()
        await self._push_new()

    async def _join_customer(self) -> None:
        assert self.visitor is not None
        customer_id = await db(_customer_id)(self.visitor.pk)
        if customer_id != self.customer_id:
            if self.customer_id is not None:
                group = f"customer.{self.customer_id}"
                await self.channel_layer.group_discard(group, self.channel_name)
                self.groups_joined.remove(group)
            self.customer_id = customer_id
            self.visitor.customer_id = customer_id
            if customer_id is not None:
                # Join before reading: what commits later rings; what committed before is read now.
                await self._join(chat_actions.chat_group(customer_id))

    async def _push_new(self) -> None:
        assert self.visitor is not None
        rows = await db(_unsent)(self.visitor, self.cursor, self.base_url)
        for row in rows:
            if self._mark_sent(row["id"]):
                await self._send({"type": "message", "message": row})
        if rows:
            self.cursor = max(self.cursor, rows[-1]["id"])

    def _mark_sent(self, message_id: int) -> bool:
        """Remember the id; False when this socket sent it already."""
        if message_id in self.sent_ids:
            return False
        self.sent_ids.add(message_id)
        self.sent_order.append(message_id)
        if len(self.sent_order) > SENT_IDS_REMEMBERED:
            self.sent_ids.discard(self.sent_order.popleft())
        return True

    async def _join(self, group: str) -> None:
        await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined.append(group)

    async def _error(self, code: str, message: str) -> None:
        await self._send({"type": "error", "error": {"code": code, "message": message}})

    async def _close(self, code: int) -> None:
        self.closed = True
        await self.close(code=code)

    async def _send(self, content: dict[str, Any]) -> None:
        if self.closed:
            return
        await self.send(text_data=json.dumps(content, separators=(",", ":")))


def _in_language(language: str, call: Callable[..., T]) -> Callable[..., T]:
    """`call` with Django's language set to the visitor's (refusals are shown to them as they are)."""

    def wrapped(*args: Any, **kwargs: Any) -> T:
        with translation.override(language[:2] or None):
            return call(*args, **kwargs)

    return wrapped


def _receive(visitor: ChatVisitor, base_url: str, **message: Any) -> tuple[Any, dict[str, Any]]:
    """Store the visitor's message and build its ack in one trip to the database thread."""
    result = chat_actions.do_visitor_message(visitor, **message)
    payload = chat_actions.message_payload(
        result.message, base_url=base_url, channel_public_id=str(visitor.channel.public_id)
    )
    return result, payload


def _payload(message: Message, base_url: str, channel: Channel) -> dict[str, Any]:
    message = (
        Message.objects.select_related("conversation", "author__user")
        .prefetch_related("attachments")
        .get(pk=message.pk)
    )
    return chat_actions.message_payload(message, base_url=base_url, channel_public_id=str(channel.public_id))


def _limited(visitor_public_id: str, ip: str) -> int | None:
    for name, key in (
        ("FRONTDESK_RATE_CHAT_PER_VISITOR", visitor_public_id),
        ("FRONTDESK_RATE_CHAT_PER_IP", ip),
    ):
        limited = ratelimit.hit(name, key)
        if limited is not None:
            return limited.retry_after
    return None


def conversation_customer(tenant_id: int, number: int) -> int | None:
    """The customer of a live-chat conversation (for agents' typing), None for other channels."""
    row = (
        Conversation.objects.filter(tenant_id=tenant_id, number=number)
        .values_list("customer_id", "channel__kind")
        .first()
    )
    if row is None or row[1] != "chat":
        return None
    return row[0]
