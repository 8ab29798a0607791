"""The queue: which unassigned conversation an agent should take next, why, and "Get next".

**What is in the queue.** Conversations of the shop nobody is assigned to, in an active status
(new, open, on hold), not snoozed and not merged. A live chat the router offered to an agent is
assigned to that agent, so it is not in the queue; a chat nobody could be offered yet is, and
whoever takes it from here takes it for good (routing.offer_waiting_chats skips assigned chats).

**Calls.** A conversation with a callback to make now (due, not waiting for its retry time:
callbacks.queue_order) is in the queue also when it is pending or resolved — the customer asked for
a call, so there is work to do. It is ranked as a call: due at the callback's time (its retry time,
else its due time; the earliest of its callbacks), with the `callback` channel's points in place of
its own channel's, and never as an after-hours arrival (the customer chose the window). Whoever
takes it makes the call and logs it on the Callbacks page.

**The order.** Each conversation gets points; more points come first. The parts, with the keys a
shop may override in `Tenant.service["queue_weights"]` (defaults in `DEFAULT_WEIGHTS`):

- *Due time*, the earliest of `promised_by` and `first_response_due` (both until the first answer)
  and `next_response_due`. Overdue: `overdue` points plus `overdue_per_hour` for each hour late, up
  to `overdue_max_extra` — the most overdue first. Not yet due: up to `due_soon` points, falling
  linearly to 0 at `due_horizon_hours` ahead — the soonest due next. With the defaults any overdue
  conversation beats every other part but the after-hours rule, and a due time within the hour
  outweighs two priority steps.
- *Priority*: `priority_step` points per step above low (normal 1, high 2, urgent 3 steps).
- *Channel*: `channels[kind]` points (kinds as in channels/registry.py; a kind not listed gets
  `channel_default`). Messenger-type and app customers are the least patient, then live chat and
  phone, then SMS; email and web forms are expected to take longest.
- *Waiting*: `waiting_per_hour` points per hour since the customer started waiting, at most
  `waiting_max`.
- *Customer value*: the customer attribute named `value_attribute` (none by default): a number
  gives up to `value_points` (all of them from `value_full_at` on), true gives all of them. A tag
  on the conversation named `vip_tag` (any case) adds `vip_points`.
- *After hours*: a conversation that arrived while its business calendar was closed and is not
  answered yet is answered first at opening, in arrival order: it gets `after_hours` points (far
  above everything else), and among such conversations the arrival time decides, not the points.

**Bounded work.** A page of the queue costs a fixed number of queries: the calls to make come from
one query on the `callback_queue` index (tenant, state, due_at), at most `CANDIDATE_LIMIT`; the
candidates come from the database pre-ordered (conversations with a call first, then earliest due
time, then longest waiting) and cut at `CANDIDATE_LIMIT`, then the pure `score` orders them in
Python; calendars are resolved from one query of the shop's calendars. A conversation beyond the
first `CANDIDATE_LIMIT` comes up once enough of those ahead of it are taken.

**Get next** (`do_get_next`) assigns the member the first conversation they may take: of their
teams or of no team, in one of their languages when both the conversation and the member have
languages, within their capacity of live chats, and only while they are online. Two agents
pressing at once get different conversations: on PostgreSQL the candidates are locked with SKIP
LOCKED and read again as unassigned inside the transaction; on SQLite the transaction begins
IMMEDIATE (settings.py) and so holds the database's one write lock.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Least
from django.utils import timezone
from django.utils.timesince import timesince
from django.utils.translation import gettext as _

from frontdesk.channels.registry import ADAPTERS, get_adapter

from ..errors import Conflict, Forbidden
from ..events import record_event
from ..lib import businesstime
from ..models import (
    ACTIVE_STATUSES,
    PRIORITY_RANK,
    Availability,
    BusinessCalendar,
    Callback,
    Conversation,
    Membership,
    Priority,
    Status,
    Team,
    Tenant,
)
from .calendars import build_calendar, business_calendar
from .callbacks import queue_order
from .conversations import do_assign

DEFAULT_WEIGHTS: dict[str, Any] = {
    "overdue": 1000,
    "overdue_per_hour": 50,
    "overdue_max_extra": 400,
    "due_soon": 600,
    "due_horizon_hours": 8,
    "priority_step": 150,
    "channels": {
        # The least patient: they expect an answer within minutes, on their phone.
        "messenger": 140,
        "whatsapp": 140,
        "telegram": 140,
        "app": 140,
        # Live and voice: the customer is there now.
        "chat": 120,
        "phone": 120,
        "callback": 120,
        "sms": 80,
        "api": 40,
        "form": 10,
        "email": 0,
    },
    "channel_default": 20,
    "waiting_per_hour": 20,
    "waiting_max": 200,
    "value_attribute": "",
    "value_points": 150,
    "value_full_at": 50,
    "vip_tag": "vip",
    "vip_points": 200,
    "after_hours": 100_000,
}
# Candidates scored per ranking (the database pre-orders them by due time).
CANDIDATE_LIMIT = 300
# Conversations "Get next" tries to lock (one by one, in order), and the rounds when all went meanwhile.
LOCK_BATCH = 20
GET_NEXT_ROUNDS = 3
# Sorts conversations without any due time after every due one in the database pre-order.
NEVER_DUE = dt.datetime(9000, 1, 1, tzinfo=dt.UTC)
# A conversation with a call to make is in the queue in these statuses too: the customer asked for a
# call after the shop asked them something (pending) or after it was resolved. Closed stays closed.
CALL_STATUSES = (*ACTIVE_STATUSES, Status.PENDING, Status.RESOLVED)
# The channel-points key a call is ranked with (DEFAULT_WEIGHTS["channels"]).
CALL_KIND = "callback"


def weights(tenant: Tenant) -> dict[str, Any]:
    """The shop's queue weights over the defaults (`channels` merged kind by kind)."""
    own = (tenant.service or {}).get("queue_weights") or {}
    merged = {**DEFAULT_WEIGHTS, **{k: v for k, v in own.items() if v is not None}}
    merged["channels"] = {**DEFAULT_WEIGHTS["channels"], **(own.get("channels") or {})}
    return merged


# --- The pure scoring -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """A call to make: the number and the customer's window, on the shop's clock."""

    phone: str
    start: dt.datetime
    end: dt.datetime

    def label(self) -> str:
        same_day = self.start.date() == self.end.date()
        pattern = "%H:%M" if same_day else "%d.%m %H:%M"
        return _("Call back %(phone)s between %(start)s and %(end)s") % {
            "phone": self.phone,
            "start": self.start.strftime(pattern),
            "end": self.end.strftime(pattern),
        }


@dataclass(frozen=True)
class Facts:
    """What the order depends on, read off one conversation (scoring needs no database)."""

    priority: str
    channel_kind: str
    due: dt.datetime | None
    waiting_since: dt.datetime | None
    arrived_at: dt.datetime
    arrived_after_hours: bool = False
    value: Any = None  # the raw customer attribute named by `value_attribute`
    vip: bool = False
    call: Call | None = None  # a callback to make: its window explains the channel points


@dataclass(frozen=True)
class Score:
    points: int
    # (label, points) of each part that counted, biggest first: "why is this first".
    parts: tuple[tuple[str, int], ...]
    after_hours: bool
    arrived_at: dt.datetime

    def sort_key(self, tiebreak: int = 0) -> tuple[Any, ...]:
        """Ascending: after-hours arrivals first in arrival order, then most points, then oldest."""
        if self.after_hours:
            return (0, self.arrived_at.timestamp(), 0, tiebreak)
        return (1, -self.points, self.arrived_at.timestamp(), tiebreak)


def _value_points(value: Any, w: Mapping[str, Any]) -> int:
    full = float(w["value_points"])
    if isinstance(value, bool):
        return int(full) if value else 0
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0  # a word ("gold") has no size; a shop wanting it counted uses a number or true
    full_at = float(w["value_full_at"]) or 1.0
    return int(full * min(max(number, 0.0) / full_at, 1.0))


def score(facts: Facts, w: Mapping[str, Any], now: dt.datetime) -> Score:
    """The conversation's points and their parts. `w` is a complete weights dict (`weights()`)."""
    parts: list[tuple[str, int]] = []
    if facts.arrived_after_hours:
        label = _("Arrived while closed: answered first at opening, in arrival order")
        parts.append((label, int(w["after_hours"])))
    if facts.due is not None:
        if facts.due <= now:
            late_hours = (now - facts.due).total_seconds() / 3600
            extra = min(int(late_hours * float(w["overdue_per_hour"])), int(w["overdue_max_extra"]))
            label = _("Overdue by %(time)s") % {"time": timesince(facts.due, now, depth=1)}
            parts.append((label, int(w["overdue"]) + extra))
        else:
            horizon = float(w["due_horizon_hours"]) * 3600
            left = (facts.due - now).total_seconds()
            points = int(float(w["due_soon"]) * (1 - left / horizon)) if horizon > 0 and left < horizon else 0
            if points > 0:
                label = _("Due in %(time)s") % {"time": timesince(now, facts.due, depth=1)}
                parts.append((label, points))
    priority = Priority(facts.priority) if facts.priority in Priority.values else Priority.NORMAL
    if PRIORITY_RANK[priority]:
        label = _("Priority: %(priority)s") % {"priority": priority.label}
        parts.append((label, PRIORITY_RANK[priority] * int(w["priority_step"])))
    channel_points = int(w["channels"].get(facts.channel_kind, w["channel_default"]))
    if facts.call is not None:
        parts.append((facts.call.label(), channel_points))
    elif channel_points:
        parts.append((_("Channel: %(kind)s") % {"kind": facts.channel_kind}, channel_points))
    if facts.waiting_since is not None and facts.waiting_since < now:
        hours = (now - facts.waiting_since).total_seconds() / 3600
        points = min(int(hours * float(w["waiting_per_hour"])), int(w["waiting_max"]))
        if points > 0:
            label = _("Waiting for %(time)s") % {"time": timesince(facts.waiting_since, now, depth=1)}
            parts.append((label, points))
    if w["value_attribute"] and facts.value is not None:
        points = _value_points(facts.value, w)
        if points > 0:
            label = _("Customer value (%(attribute)s: %(value)s)") % {
                "attribute": w["value_attribute"],
                "value": facts.value,
            }
            parts.append((label, points))
    if facts.vip:
        parts.append((_("VIP customer"), int(w["vip_points"])))
    parts.sort(key=lambda part: -part[1])
    return Score(
        points=sum(points for _label, points in parts),
        parts=tuple(parts),
        after_hours=facts.arrived_after_hours,
        arrived_at=facts.arrived_at,
    )


# --- Reading the facts off conversations ----------------------------------------------------------


def due_of(conversation: Conversation) -> dt.datetime | None:
    """The earliest time the shop committed to: the promise, the SLA's first and next answer."""
    candidates = [conversation.next_response_due]
    if conversation.first_response_at is None:
        candidates += [conversation.promised_by, conversation.first_response_due]
    return min((d for d in candidates if d is not None), default=None)


def call_due(callback: Callback) -> dt.datetime:
    """When a call is to be made: its retry time after an unanswered try, else its due time."""
    return callback.next_attempt_at or callback.due_at


def due_calls(tenant: Tenant, now: dt.datetime) -> dict[int, Callback]:
    """The calls to make now, by conversation id: the earliest due of each conversation's callbacks
    (one query on the `callback_queue` index, at most CANDIDATE_LIMIT callbacks)."""
    due_now, _later, _scheduled = queue_order(now)
    rows = (
        Callback.objects.filter(due_now, tenant=tenant)
        .only("pk", "conversation_id", "phone", "window_start", "window_end", "due_at", "next_attempt_at")
        .order_by("due_at", "pk")[:CANDIDATE_LIMIT]
    )
    calls: dict[int, Callback] = {}
    for callback in rows:
        known = calls.get(callback.conversation_id)
        if known is None or call_due(callback) < call_due(known):
            calls[callback.conversation_id] = callback
    return calls


def shop_zone(tenant: Tenant) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(tenant.time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def facts_of(
    conversation: Conversation,
    w: Mapping[str, Any],
    calendar: businesstime.Calendar,
    callback: Callback | None = None,
) -> Facts:
    """The scoring facts; reads `channel`, `customer` and `tags` (select or prefetch them).
    With `callback` (a call to make now) the conversation is ranked as that call."""
    attribute = w["value_attribute"]
    value = (conversation.customer.attributes or {}).get(attribute) if attribute else None
    vip_tag = str(w["vip_tag"] or "").casefold()
    vip = bool(vip_tag) and any(t.name.casefold() == vip_tag for t in conversation.tags.all())
    call: Call | None = None
    if callback is not None:
        zone = shop_zone(conversation.tenant)
        start, end = callback.window_start.astimezone(zone), callback.window_end.astimezone(zone)
        call = Call(phone=callback.phone, start=start, end=end)
    # Only an unanswered conversation waits for the opening; one answered already is ordinary work.
    # A call is neither: the customer chose its window.
    after_hours = (
        call is None
        and conversation.first_response_at is None
        and not calendar.is_open(conversation.created_at)
    )
    return Facts(
        priority=conversation.priority,
        channel_kind=CALL_KIND if call is not None else conversation.channel.kind,
        due=call_due(callback) if callback is not None else due_of(conversation),
        waiting_since=conversation.waiting_since,
        arrived_at=conversation.created_at,
        arrived_after_hours=after_hours,
        value=value,
        vip=vip,
        call=call,
    )


def _calendar_resolver(tenant: Tenant) -> Callable[[Conversation], businesstime.Calendar]:
    """calendars.business_calendar for many conversations for one query (two with special days):
    the channel's calendar, else the team's, else the shop's, else the built-in one."""
    rows = {row.pk: row for row in BusinessCalendar.objects.filter(tenant=tenant).prefetch_related("days")}
    shop = next((row for row in rows.values() if row.is_default), None)

    def resolve(conversation: Conversation) -> businesstime.Calendar:
        team: Team | None = conversation.team
        row_id = conversation.channel.calendar_id or (team.calendar_id if team is not None else None)
        row = rows.get(row_id) if row_id is not None else shop
        return build_calendar(tenant, row)

    return resolve


def queue(
    tenant: Tenant, now: dt.datetime, *, calls: Collection[int] | None = None
) -> QuerySet[Conversation]:
    """Every conversation in the shop's queue, unordered. `calls`: the ids of the conversations
    with a call to make (`due_calls`) when already read; else a subquery asks for each row, which
    suits a query for one conversation (the locks of Get next and auto-assignment) and no more."""
    if calls is None:
        due_now, _later, _scheduled = queue_order(now)
        has_call: Q | Exists = Exists(Callback.objects.filter(due_now, conversation=OuterRef("pk")))
    else:
        has_call = Q(pk__in=list(calls))
    return (
        Conversation.objects.filter(tenant=tenant, assignee__isnull=True, merged_into__isnull=True)
        .filter(Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=now))
        .filter(Q(status__in=ACTIVE_STATUSES) | (Q(status__in=CALL_STATUSES) & has_call))
    )


def takeable_by(qs: QuerySet[Conversation], member: Membership) -> QuerySet[Conversation]:
    """Only what this member may take: their teams' or no team's, in their languages."""
    qs = qs.filter(Q(team__isnull=True) | Q(team__in=Team.objects.filter(members=member).values("pk")))
    languages = [str(language) for language in (member.languages or []) if language]
    if languages:
        qs = qs.filter(Q(language="") | Q(language__in=languages))
    return qs


def _pre_ordered(qs: QuerySet[Conversation], calls: Collection[int]) -> QuerySet[Conversation]:
    never = Value(NEVER_DUE, output_field=DateTimeField())
    # Coalesce each before LEAST: PostgreSQL's LEAST skips NULLs, SQLite's returns NULL.
    due_key = Least(
        Coalesce("promised_by", never),
        Coalesce("first_response_due", never),
        Coalesce("next_response_due", never),
        output_field=DateTimeField(),
    )
    # Conversations with a call first: the cut must not drop a call for conversations due sooner by
    # their own clocks, which do not count for them (there are at most CANDIDATE_LIMIT calls).
    with_call = Case(When(pk__in=list(calls), then=Value(0)), default=Value(1), output_field=IntegerField())
    return qs.annotate(due_key=due_key, call_key=with_call if calls else Value(1)).order_by(
        "call_key", "due_key", F("waiting_since").asc(nulls_last=True), "created_at", "id"
    )


@dataclass(frozen=True)
class Ranked:
    conversation: Conversation
    score: Score
    due: dt.datetime | None
    call: Callback | None = None  # the call to make, when the conversation is in the queue for one


def ranked_queue(
    tenant: Tenant, *, now: dt.datetime | None = None, member: Membership | None = None
) -> list[Ranked]:
    """The queue in the order to answer it (only what `member` may take, when given): at most
    CANDIDATE_LIMIT conversations, in a fixed number of queries."""
    now = now or timezone.now()
    calls = due_calls(tenant, now)
    qs = queue(tenant, now, calls=calls.keys())
    if member is not None:
        qs = takeable_by(qs, member)
    candidates = list(
        _pre_ordered(qs, calls.keys())
        .select_related("customer", "channel", "team")
        .prefetch_related("tags", "customer__identities")[:CANDIDATE_LIMIT]
    )
    w = weights(tenant)
    calendar_of = _calendar_resolver(tenant)
    ranked = []
    for c in candidates:
        c.tenant = tenant  # read for the shop's time zone; the same row, not another query
        call = calls.get(c.pk)
        facts = facts_of(c, w, calendar_of(c), call)
        ranked.append(Ranked(c, score(facts, w, now), facts.due, call))
    ranked.sort(key=lambda r: r.score.sort_key(r.conversation.pk))
    return ranked


def explain(conversation: Conversation, now: dt.datetime | None = None) -> list[tuple[str, int]]:
    """Why this conversation stands where it does in the queue: (label, points), biggest first."""
    now = now or timezone.now()
    tenant = conversation.tenant
    w = weights(tenant)
    calendar = business_calendar(tenant, team=conversation.team, channel=conversation.channel)
    due_now, _later, _scheduled = queue_order(now)
    calls = Callback.objects.filter(due_now, tenant=tenant, conversation=conversation)
    call = min(calls, key=call_due, default=None)
    return list(score(facts_of(conversation, w, calendar, call), w, now).parts)


# --- Get next ---------------------------------------------------------------------------------------


def check_get_next(member: Membership) -> None:
    if not member.is_active:
        raise Forbidden()
    if member.availability != Availability.ONLINE:
        raise Conflict(
            _("You are not online. Set yourself online to take conversations from the queue."),
            code="not_online",
        )


def _full_kinds(member: Membership) -> set[str]:
    """Live channel kinds in which the member has no free place. Capacity counts live chats only
    (Membership.capacity), the way the chat router counts them; 0 means no limit."""
    if member.capacity == 0:
        return set()
    live = [kind for kind in ADAPTERS if get_adapter(kind).capabilities.live]
    counts = (
        Conversation.objects.filter(
            assignee=member, status__in=[*ACTIVE_STATUSES, Status.PENDING], channel__kind__in=live
        )
        .values("channel__kind")
        .annotate(n=Count("pk"))
    )
    return {row["channel__kind"] for row in counts if row["n"] >= member.capacity}


def do_get_next(member: Membership, now: dt.datetime | None = None) -> Conversation | None:
    """Assign the member the first conversation of the queue they may take; None when there is none."""
    check_get_next(member)
    full = _full_kinds(member)
    for _round in range(GET_NEXT_ROUNDS):
        ranked = [
            r
            for r in ranked_queue(member.tenant, now=now, member=member)
            if r.conversation.channel.kind not in full
        ][:LOCK_BATCH]
        if not ranked:
            return None
        with transaction.atomic():
            # Lock one row at a time, in order (locking them all would hold every candidate until
            # this transaction ends). A row another agent is taking right now is skipped, not
            # waited for; the row is read again under the lock, so one taken (or moved to another
            # team) since the ranking is not taken twice.
            lockable = takeable_by(queue(member.tenant, now or timezone.now()), member).select_for_update(
                skip_locked=True
            )
            pick = next(
                (
                    r
                    for r in ranked
                    if lockable.filter(pk=r.conversation.pk).values_list("pk", flat=True).first()
                ),
                None,
            )
            if pick is None:
                continue  # every one went meanwhile: rank again
            conversation = Conversation.objects.select_related("channel", "team").get(pk=pick.conversation.pk)
            do_assign(member, conversation, assignee=member)
            record_event(
                member.tenant_id,
                "queue.taken",
                conversation=conversation,
                actor=member,
                data={"member": member.pk, "points": pick.score.points},
            )
            return conversation
    return None
