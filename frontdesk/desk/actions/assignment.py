"""Automatic assignment (push): the queue hands conversations to agents without anyone pressing "Get next".

**Settings**, in `Tenant.service["auto_assign"]` (defaults in `DEFAULTS`):

- `enabled` (false): nothing is assigned automatically until a shop turns it on.
- `mode` ("balanced"): "balanced" gives each conversation to the eligible agent with the fewest open
  conversations, ties to the one whose last assignment is oldest; "round_robin" gives it to the
  eligible agent whose last assignment is oldest, whatever their load, so agents take turns.
- `max_open` (0 = no cap): an agent with this many open conversations is given no more.
- `reassign_minutes` (0 = never): an automatically assigned conversation whose customer is still
  waiting, with no agent answer since the assignment, goes to another agent after this long.

**What counts.** "Open" means assigned to the agent in an active status (new, open, on hold), on a
channel that is not a live chat. "Last assignment" is the newest "conversation.assigned" event naming
the agent among the shop's last `RECENT_ASSIGNMENTS` (manual, "Get next", router or automatic alike);
an agent with none there counts as longest ago. So with agents A, B, C and only this sweep assigning,
round robin gives A, B, C, A, … and never needs a pointer of its own to keep consistent.

**Who is eligible**, as for "Get next": an active member of the shop, online (away and offline are
skipped); of the conversation's team when it has one (anyone when not); when both the member and
the conversation have languages, one of the member's; under `max_open`.

**Live chats are left alone**: the chat router (routing.py) offers and re-offers them with their own
capacity rules. This module takes only conversations on channels that are not live.

**Order and bounds.** `auto_assign_sweep` takes each enabled shop's queue in the queue's own order
(queue.ranked_queue), at most `ASSIGN_BATCH` conversations per shop and `MAX_TENANTS` shops per run.
`reassign_sweep` moves at most `REASSIGN_BATCH` conversations per shop per run.

**Never twice.** Each conversation is locked (SELECT … FOR UPDATE SKIP LOCKED on PostgreSQL; on SQLite
the transaction begins IMMEDIATE and holds the write lock) and read again before it is assigned: an
assignment made meanwhile by another scheduler, an agent or the router wins, and the sweep moves on.

**The record.** `do_assign` with no member records "conversation.assigned" by the system; beside it
"assignment.auto" (mode, the agent's load) or "assignment.reassigned" (from, to, after how long).
The newest of those three events on a conversation tells whether its current assignment was
automatic: only then may `reassign_sweep` move it (a person's choice is never overridden).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.utils import timezone

from frontdesk.channels.registry import ADAPTERS, get_adapter

from ..events import record_event
from ..models import (
    ACTIVE_STATUSES,
    AuthorKind,
    Availability,
    Conversation,
    Direction,
    Event,
    Membership,
    Message,
    Tenant,
)
from .conversations import do_assign
from .queue import queue, ranked_queue

log = structlog.get_logger(__name__)

BALANCED = "balanced"
ROUND_ROBIN = "round_robin"
MODES = (BALANCED, ROUND_ROBIN)
DEFAULTS: dict[str, Any] = {"enabled": False, "mode": BALANCED, "max_open": 0, "reassign_minutes": 0}

# Conversations assigned per shop per sweep (the sweep runs every 15 s).
ASSIGN_BATCH = 50
# Conversations re-assigned per shop per sweep.
REASSIGN_BATCH = 50
# Shops looked at per sweep.
MAX_TENANTS = 1000
# How far back "last assignment" looks: the shop's newest assignment events.
RECENT_ASSIGNMENTS = 500

AUTO = "assignment.auto"
REASSIGNED = "assignment.reassigned"
# The events that say who assigned the current assignee: the newest one on a conversation decides.
ASSIGNMENT_KINDS = ("conversation.assigned", AUTO, REASSIGNED)


@dataclass(frozen=True)
class Settings:
    enabled: bool
    mode: str
    max_open: int
    reassign_minutes: int


def _count(value: Any) -> int:
    try:
        return max(int(value), 0)
    except (TypeError, ValueError):
        return 0


def settings_of(tenant: Tenant) -> Settings:
    """The shop's auto-assign settings over `DEFAULTS`; values that make no sense count as the default."""
    own: Mapping[str, Any] = (tenant.service or {}).get("auto_assign") or {}
    mode = own.get("mode", DEFAULTS["mode"])
    return Settings(
        enabled=own.get("enabled", DEFAULTS["enabled"]) is True,
        mode=mode if mode in MODES else DEFAULTS["mode"],
        max_open=_count(own.get("max_open", DEFAULTS["max_open"])),
        reassign_minutes=_count(own.get("reassign_minutes", DEFAULTS["reassign_minutes"])),
    )


def pushed_kinds() -> list[str]:
    """Channel kinds this module assigns: every kind but the live ones (the chat router's)."""
    return [kind for kind in ADAPTERS if not get_adapter(kind).capabilities.live]


@dataclass
class Agent:
    """An eligible member as the sweep sees them; `load` and `last_assigned` move as it assigns."""

    member: Membership
    team_ids: frozenset[int]
    languages: frozenset[str]
    load: int
    last_assigned: int  # id of the newest assignment event naming them; 0 when none is recent

    def may_take(self, conversation: Conversation, max_open: int) -> bool:
        if max_open and self.load >= max_open:
            return False
        if conversation.team_id is not None and conversation.team_id not in self.team_ids:
            return False
        return not (self.languages and conversation.language and conversation.language not in self.languages)


def _agents(tenant: Tenant, kinds: list[str]) -> list[Agent]:
    """The shop's members who may be given work now, with their load (two queries, three with teams)."""
    members = list(
        Membership.objects.filter(tenant=tenant, is_active=True, availability=Availability.ONLINE)
        .select_related("user")  # the assignment event names the agent
        .prefetch_related("teams")
        .annotate(
            open_count=Count(
                "assigned_conversations",
                filter=Q(
                    assigned_conversations__status__in=ACTIVE_STATUSES,
                    assigned_conversations__channel__kind__in=kinds,
                ),
            )
        )
    )
    if not members:
        return []
    last: dict[int, int] = {}
    recent = (
        Event.objects.filter(tenant=tenant, kind="conversation.assigned")
        .order_by("-id")
        .values_list("id", "data__assignee")[:RECENT_ASSIGNMENTS]
    )
    for event_id, assignee in recent:
        if isinstance(assignee, int):
            last.setdefault(assignee, event_id)
    return [
        Agent(
            member=m,
            team_ids=frozenset(team.pk for team in m.teams.all()),
            languages=frozenset(str(language) for language in (m.languages or []) if language),
            load=m.open_count,  # type: ignore[attr-defined]
            last_assigned=last.get(m.pk, 0),
        )
        for m in members
    ]


def choose(
    agents: list[Agent], conversation: Conversation, settings: Settings, *, not_member: int | None = None
) -> Agent | None:
    """The agent to give `conversation` to, by the shop's mode; None when nobody eligible is left."""
    eligible = [
        a for a in agents if a.member.pk != not_member and a.may_take(conversation, settings.max_open)
    ]
    if settings.mode == ROUND_ROBIN:
        return min(eligible, key=lambda a: (a.last_assigned, a.member.pk), default=None)
    return min(eligible, key=lambda a: (a.load, a.last_assigned, a.member.pk), default=None)


def _enabled_tenants() -> list[Tenant]:
    return list(
        Tenant.objects.filter(is_active=True, service__auto_assign__enabled=True).order_by("pk")[:MAX_TENANTS]
    )


# --- Assigning the queue --------------------------------------------------------------------------


def auto_assign_sweep(now: dt.datetime | None = None) -> int:
    """Assign unassigned conversations of every shop with auto-assign on. Returns how many."""
    now = now or timezone.now()
    assigned = 0
    kinds = pushed_kinds()
    for tenant in _enabled_tenants():
        settings = settings_of(tenant)
        if settings.enabled:
            assigned += _assign_queue(tenant, settings, kinds, now)
    if assigned:
        log.info("assignment.auto_assigned", count=assigned)
    return assigned


def _assign_queue(tenant: Tenant, settings: Settings, kinds: list[str], now: dt.datetime) -> int:
    agents = _agents(tenant, kinds)
    if not agents:
        return 0
    ranked = [r for r in ranked_queue(tenant, now=now) if r.conversation.channel.kind in kinds][:ASSIGN_BATCH]
    assigned = 0
    for r in ranked:
        if settings.max_open and all(a.load >= settings.max_open for a in agents):
            break  # everyone is full: the rest waits for the next sweep
        # Cheap check on what was read for the ranking, before taking a lock for nothing.
        if choose(agents, r.conversation, settings) is None:
            continue
        with transaction.atomic():
            # Lock, then read again: another scheduler, an agent pressing "Get next" or one assigning
            # by hand may have taken it (or moved it to another team) since the ranking. A row being
            # taken right now is skipped, not waited for.
            # No join in the locking query: PostgreSQL would lock the joined channel row too, and the
            # other scheduler would then skip every conversation of that channel. (A conversation's
            # channel, and so its kind, never changes: the ranking's check holds.)
            locked = (
                queue(tenant, now)
                .filter(pk=r.conversation.pk)
                .select_for_update(skip_locked=True)
                .values_list("pk", flat=True)
                .first()
            )
            if locked is None:
                continue
            conversation = Conversation.objects.select_related("channel", "team").get(pk=locked)
            agent = choose(agents, conversation, settings)
            if agent is None:
                continue
            load = agent.load
            do_assign(None, conversation, assignee=agent.member)
            event = record_event(
                tenant,
                AUTO,
                conversation=conversation,
                data={
                    "member": agent.member.pk,
                    "member_name": agent.member.display_name,
                    "mode": settings.mode,
                    "open": load,
                    "points": r.score.points,
                },
            )
        agent.load += 1
        agent.last_assigned = event.pk
        assigned += 1
    return assigned


# --- Passing on what was not answered -------------------------------------------------------------


def reassign_sweep(now: dt.datetime | None = None) -> int:
    """Move automatically assigned conversations nobody answered within the shop's
    `reassign_minutes` to another eligible agent. Returns how many moved."""
    now = now or timezone.now()
    moved = 0
    kinds = pushed_kinds()
    for tenant in _enabled_tenants():
        settings = settings_of(tenant)
        if settings.enabled and settings.reassign_minutes:
            moved += _reassign(tenant, settings, kinds, now)
    if moved:
        log.info("assignment.reassigned", count=moved)
    return moved


def _unanswered(
    tenant: Tenant, kinds: list[str], cutoff: dt.datetime, now: dt.datetime
) -> list[Conversation]:
    """Conversations assigned automatically before `cutoff` whose customer still waits with no agent
    answer since: oldest assignment first, at most REASSIGN_BATCH."""
    latest = Event.objects.filter(conversation=OuterRef("pk"), kind__in=ASSIGNMENT_KINDS).order_by("-id")
    agent_answer = Message.objects.filter(
        conversation=OuterRef("pk"),
        direction=Direction.OUT,
        author_kind=AuthorKind.AGENT,
        created_at__gte=OuterRef("assigned_at"),
    )
    return list(
        Conversation.objects.filter(
            tenant=tenant,
            assignee__isnull=False,
            status__in=ACTIVE_STATUSES,
            merged_into__isnull=True,
            waiting_since__isnull=False,
            channel__kind__in=kinds,
        )
        .filter(Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=now))
        .annotate(
            assigned_by=Subquery(latest.values("kind")[:1]),
            assigned_event=Subquery(latest.values("id")[:1]),
            assigned_at=Subquery(latest.values("created_at")[:1]),
        )
        .filter(assigned_by__in=[AUTO, REASSIGNED], assigned_at__lte=cutoff)
        .exclude(Exists(agent_answer))
        .order_by("assigned_at", "pk")[:REASSIGN_BATCH]
    )


def _reassign(tenant: Tenant, settings: Settings, kinds: list[str], now: dt.datetime) -> int:
    cutoff = now - dt.timedelta(minutes=settings.reassign_minutes)
    candidates = _unanswered(tenant, kinds, cutoff, now)
    if not candidates:
        return 0
    agents = _agents(tenant, kinds)
    by_pk = {a.member.pk: a for a in agents}
    moved = 0
    for candidate in candidates:
        if choose(agents, candidate, settings, not_member=candidate.assignee_id) is None:
            continue  # nobody else may take it: the current agent keeps it
        with transaction.atomic():
            locked = (
                Conversation.objects.filter(
                    pk=candidate.pk, assignee_id=candidate.assignee_id, status__in=ACTIVE_STATUSES
                )
                .select_for_update(skip_locked=True)
                .values_list("pk", flat=True)
                .first()
            )
            if locked is None:
                continue
            # Under the lock: an assignment made since the candidates were read is newer and wins.
            newest = (
                Event.objects.filter(conversation_id=locked, kind__in=ASSIGNMENT_KINDS)
                .order_by("-id")
                .values_list("pk", flat=True)
                .first()
            )
            if newest != candidate.assigned_event:  # type: ignore[attr-defined]
                continue
            conversation = Conversation.objects.select_related("channel", "team", "assignee").get(pk=locked)
            previous = conversation.assignee_id
            agent = choose(agents, conversation, settings, not_member=previous)
            if agent is None:
                continue
            do_assign(None, conversation, assignee=agent.member)
            event = record_event(
                tenant,
                REASSIGNED,
                conversation=conversation,
                data={
                    "from": previous,
                    "to": agent.member.pk,
                    "to_name": agent.member.display_name,
                    "mode": settings.mode,
                    "after_minutes": settings.reassign_minutes,
                },
            )
        agent.load += 1
        agent.last_assigned = event.pk
        if previous in by_pk:
            by_pk[previous].load -= 1
        moved += 1
    return moved
