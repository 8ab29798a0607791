"""The agent WebSocket (/ws/t/<slug>/): live events of one tenant, resuming, and presence.

Protocol, server → client (JSON text frames):
  {"type": "hello", "member": id, "last_event": id}     once, after the socket joined the tenant
  {"type": "event", "event": {id, kind, conversation, actor, data, at}}
  {"type": "presence", "conversation": n, "member": id, "name": str, "state": s,
   "expires_in": seconds, "tab": str}                   another agent (never oneself) on conversation n
  {"type": "reload"}                                    too much was missed: reload the page
  {"type": "pong"}                                      answer to a ping
  {"type": "typing", "conversation": n, "who": "customer", "state": bool}
                                                        a chat visitor is (no longer) typing
  {"type": "error", "error": {"code": str, "message": str}}
Client → server:
  {"type": "ping"}
  {"type": "resume", "after": id}                       (or ?after=<id> when connecting)
  {"type": "presence", "conversation": n, "state": "viewing" | "replying" | "left"}

Close codes: 4401 not signed in, 4404 not an active member of this tenant (also when that ends).

Nothing about presence is stored on the server: each socket broadcasts its own announcements to
the tenant's group (through Redis when scaled out), clients renew them every ~15 s and forget the
ones that expired, so a crashed process leaves nothing stale behind for long.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections import deque
from importlib import import_module
from typing import Any
from urllib.parse import parse_qs

import structlog
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.db.models import F

from frontdesk.desk.access import membership_for
from frontdesk.desk.errors import NotFound
from frontdesk.desk.events import event_payload
from frontdesk.desk.models import Event, Membership

from .publish import bind_serving_loop, tenant_group

log = structlog.get_logger(__name__)

CLOSE_NOT_SIGNED_IN = 4401
CLOSE_NOT_A_MEMBER = 4404

# A socket that missed more than this many events asks its page to reload instead.
REPLAY_LIMIT = 500
# Seconds an announcement stays valid; clients renew theirs every 15 s.
PRESENCE_TTL_SECONDS = 40
PRESENCE_STATES = ("viewing", "replying", "left")
# Conversations one socket may be present in at once (a page shows one; a few tabs' worth of slack).
MAX_PRESENCE_PER_SOCKET = 20
# Presence announcements a socket may make: a burst of this many, then one per second.
PRESENCE_BURST = 20
# How often (seconds, at most) a ping re-checks that the session and membership still hold.
RECHECK_SECONDS = 60.0
MAX_FRAME_CHARS = 4096
# Event ids remembered per socket to drop the live copy of an event that was just replayed.
SENT_IDS_REMEMBERED = 2000


def _member_info(user: Any, slug: str) -> dict[str, Any] | None:
    try:
        member = membership_for(user, slug)
    except NotFound:
        return None
    return {
        "id": member.pk,
        "tenant": member.tenant_id,
        "name": member.display_name,
        "admin": member.is_admin,
    }


# Events about running the shop (who was invited, tokens, channel secrets) are for its admins only;
# agents' pages need conversation events.
ADMIN_ONLY_KINDS = ("member.invited", "invitation.", "api_token.", "channel.", "tenant.")


def visible_to(event: dict[str, Any], *, admin: bool) -> bool:
    return admin or not str(event.get("kind", "")).startswith(ADMIN_ONLY_KINDS)


def _still_allowed(member_id: int, session_key: str | None) -> bool:
    """The member is still active in an active tenant and the session was not ended (sign-out)."""
    if not Membership.objects.filter(pk=member_id, is_active=True, tenant__is_active=True).exists():
        return False
    if session_key is None:
        return False
    store = import_module(settings.SESSION_ENGINE).SessionStore
    return bool(store().exists(session_key))


def _latest_event_id(tenant_id: int) -> int:
    return Event.objects.filter(tenant_id=tenant_id).order_by("-id").values_list("id", flat=True).first() or 0


def _events_after(tenant_id: int, after: int, limit: int) -> list[dict[str, Any]] | None:
    """The tenant's events with id > after, oldest first; None when there are more than `limit`."""
    rows = list(
        Event.objects.filter(tenant_id=tenant_id, id__gt=after)
        .annotate(conversation_number=F("conversation__number"))
        .order_by("id")[: limit + 1]
    )
    if len(rows) > limit:
        return None
    return [event_payload(e, conversation_number=e.conversation_number) for e in rows]  # type: ignore[attr-defined]


def _event_id(value: Any) -> int | None:
    """A non-negative integer event id from a query string or JSON value, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.isdecimal() and len(value) <= 18:
        return int(value)
    if isinstance(value, int) and 0 <= value < 2**63:
        return value
    return None


class _Bucket:
    """Token bucket: `burst` at once, then `rate` per second."""

    def __init__(self, burst: int, rate: float) -> None:
        self.capacity = float(burst)
        self.tokens = float(burst)
        self.rate = rate
        self.at = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


async def dispatch_without_closing_connections(consumer: Any, message: dict[str, Any]) -> None:
    """Channels' dispatch, minus its close_old_connections() on the shared sync thread before every
    message: under load each event pushed to a page queued behind all the sockets' database work.
    Our handlers reach the database only through database_sync_to_async, which does it itself."""
    handler = getattr(consumer, get_handler_name(message), None)
    if handler is None:
        raise ValueError(f"No handler for message type {message['type']}")
    await handler(message)


class AgentConsumer(AsyncWebsocketConsumer):
    """One open agent page. Joins its tenant's group only after the membership check."""

    async def dispatch(self, message: dict[str, Any]) -> None:
        await dispatch_without_closing_connections(self, message)

    member_id: int | None = None
    group: str | None = None
    closed = False

    async def connect(self) -> None:
        bind_serving_loop(asyncio.get_running_loop())
        self.tab = secrets.token_hex(6)
        self.sent_ids: set[int] = set()
        self.sent_order: deque[int] = deque()
        # conversation number → (state, monotonic time it expires): what this socket announced.
        self.presence: dict[int, tuple[str, float]] = {}
        self.bucket = _Bucket(PRESENCE_BURST, 1.0)
        self.checked_at = time.monotonic()
        # conversation number → its customer when it is a live chat (None: not a chat).
        self.chat_customers: dict[int, int | None] = {}

        # Accept, then close with a code: a browser sees the code (and stops retrying), whereas a
        # refused handshake looks like a network error.
        await self.accept()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self._close(CLOSE_NOT_SIGNED_IN)
            return
        slug = self.scope["url_route"]["kwargs"]["slug"]
        info = await database_sync_to_async(_member_info)(user, slug)
        if info is None:
            await self._close(CLOSE_NOT_A_MEMBER)
            return
        self.member_id = info["id"]
        self.tenant_id = info["tenant"]
        self.name = info["name"]
        self.admin = info["admin"]
        self.group = tenant_group(self.tenant_id)
        # Join before reading the stream: whatever commits from now on arrives live, whatever
        # committed before is in the replay, and the overlap is dropped by id (see desk_event).
        await self.channel_layer.group_add(self.group, self.channel_name)
        latest = await database_sync_to_async(_latest_event_id)(self.tenant_id)
        await self._send({"type": "hello", "member": self.member_id, "last_event": latest})
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        after = _event_id((query.get("after") or [""])[0])
        if after is not None:
            await self._replay(after)

    async def disconnect(self, code: int) -> None:
        if self.group is None:
            return
        now = time.monotonic()
        for number, (state, until) in list(self.presence.items()):
            if until > now:
                await self._announce(number, "left")
                if state == "replying":
                    await self._tell_visitor_typing(number, False)
        self.presence.clear()
        await self.channel_layer.group_discard(self.group, self.channel_name)
        self.group = None

    # --- from the client ----------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.group is None:
            return
        if text_data is None or len(text_data) > MAX_FRAME_CHARS:
            await self._error("invalid", "Send JSON text frames of at most 4 KB")
            return
        try:
            content = json.loads(text_data)
        except ValueError:
            await self._error("malformed_json", "The frame is not valid JSON")
            return
        if not isinstance(content, dict):
            await self._error("invalid", "Send a JSON object with a type")
            return
        kind = content.get("type")
        if kind == "ping":
            await self._ping()
        elif kind == "presence":
            await self._presence(content)
        elif kind == "resume":
            after = _event_id(content.get("after"))
            if after is None:
                await self._error("invalid", "after must be an event id (a non-negative integer)")
                return
            await self._replay(after)
        else:
            await self._error("unknown_type", "type must be ping, presence or resume")

    async def _ping(self) -> None:
        if time.monotonic() - self.checked_at >= RECHECK_SECONDS:
            self.checked_at = time.monotonic()
            session = self.scope.get("session")
            session_key = session.session_key if session is not None else None
            assert self.member_id is not None
            if not await database_sync_to_async(_still_allowed)(self.member_id, session_key):
                await self.disconnect(CLOSE_NOT_A_MEMBER)
                await self._close(CLOSE_NOT_A_MEMBER)
                return
        await self._send({"type": "pong"})

    async def _presence(self, content: dict[str, Any]) -> None:
        number, state = content.get("conversation"), content.get("state")
        if isinstance(number, bool) or not isinstance(number, int) or not 0 < number < 2**31:
            await self._error("invalid", "conversation must be a conversation number")
            return
        if state not in PRESENCE_STATES:
            await self._error("invalid", "state must be viewing, replying or left")
            return
        if not self.bucket.take():
            await self._error("rate_limited", "Too many presence announcements; slow down")
            return
        now = time.monotonic()
        for other, (_s, until) in list(self.presence.items()):
            if until <= now:
                del self.presence[other]
        if state == "left":
            gone = self.presence.pop(number, None)
            if gone is None:
                return  # nothing announced here, nothing to take back
            await self._announce(number, "left")
            if gone[0] == "replying":
                await self._tell_visitor_typing(number, False)
            return
        if number not in self.presence and len(self.presence) >= MAX_PRESENCE_PER_SOCKET:
            await self._error("invalid", "Too many conversations at once on one page")
            return
        fresh = number not in self.presence
        before = self.presence.get(number, ("", 0.0))[0]
        self.presence[number] = (state, now + PRESENCE_TTL_SECONDS)
        await self._announce(number, state, fresh=fresh)
        if (state == "replying") != (before == "replying"):
            await self._tell_visitor_typing(number, state == "replying")

    async def _tell_visitor_typing(self, number: int, state: bool) -> None:
        """A live chat's visitor sees that an agent is typing (the composer's "replying")."""
        from .visitor import conversation_customer

        if number not in self.chat_customers:
            self.chat_customers[number] = await database_sync_to_async(conversation_customer)(
                self.tenant_id, number
            )
        customer_id = self.chat_customers[number]
        if customer_id is None:
            return
        from frontdesk.desk.actions.chat import set_agent_typing

        await database_sync_to_async(set_agent_typing)(customer_id, number, self.name, state)
        await self.channel_layer.group_send(
            f"customer.{customer_id}",
            {"type": "chat.typing", "conversation": number, "name": self.name, "state": state},
        )

    # --- from the tenant's group --------------------------------------------------------------

    async def desk_typing(self, message: dict[str, Any]) -> None:
        """A chat visitor is (no longer) typing in conversation n."""
        await self._send(
            {
                "type": "typing",
                "conversation": message["conversation"],
                "who": message["who"],
                "state": message["state"],
            }
        )

    async def desk_event(self, message: dict[str, Any]) -> None:
        event = message["event"]
        if self._already_sent(event.get("id")) or not visible_to(event, admin=self.admin):
            return
        await self._send({"type": "event", "event": event})

    async def desk_presence(self, message: dict[str, Any]) -> None:
        if message["member"] == self.member_id:
            return  # one's own other tabs are no collision
        number = message["conversation"]
        if message.get("fresh") and message["state"] != "left":
            # Someone just arrived: tell them at once that this page is here too, rather than
            # letting them wait for the next renewal.
            mine = self.presence.get(number)
            if mine is not None and mine[1] > time.monotonic():
                await self._announce(number, mine[0])
        await self._send(
            {
                "type": "presence",
                "conversation": number,
                "member": message["member"],
                "name": message["name"],
                "state": message["state"],
                "expires_in": message["expires_in"],
                "tab": message["tab"],
            }
        )

    # --- helpers ------------------------------------------------------------------------------

    async def _replay(self, after: int) -> None:
        assert self.group is not None
        events = await database_sync_to_async(_events_after)(self.tenant_id, after, REPLAY_LIMIT)
        if events is None:
            await self._send({"type": "reload"})
            return
        for event in events:
            if not self._already_sent(event["id"]) and visible_to(event, admin=self.admin):
                await self._send({"type": "event", "event": event})

    def _already_sent(self, event_id: Any) -> bool:
        """Remember `event_id`; True if this socket already sent it (replay and live overlap)."""
        if not isinstance(event_id, int):
            return False
        if event_id in self.sent_ids:
            return True
        self.sent_ids.add(event_id)
        self.sent_order.append(event_id)
        if len(self.sent_order) > SENT_IDS_REMEMBERED:
            self.sent_ids.discard(self.sent_order.popleft())
        return False

    async def _announce(self, number: int, state: str, *, fresh: bool = False) -> None:
        assert self.group is not None
        await self.channel_layer.group_send(
            self.group,
            {
                "type": "desk.presence",
                "conversation": number,
                "member": self.member_id,
                "name": self.name,
                "state": state,
                "expires_in": 0 if state == "left" else PRESENCE_TTL_SECONDS,
                "tab": self.tab,
                "fresh": fresh,
            },
        )

    async def _error(self, code: str, message: str) -> None:
        await self._send({"type": "error", "error": {"code": code, "message": message}})

    async def _close(self, code: int) -> None:
        self.closed = True
        await self.close(code=code)

    async def _send(self, content: dict[str, Any]) -> None:
        if self.closed:
            return  # messages queued before the close have nobody to go to
        await self.send(text_data=json.dumps(content, separators=(",", ":")))
