"""Response-time targets (SLA policies): the due times of every conversation, their pauses, and the
warnings and breaches the scheduler records.

The clock rules — the spec; every hook below implements one of them:

- Policy: the first enabled policy of the tenant, in (position, id) order, whose conditions all
  match (within one condition any listed value matches; {} or an empty list matches everything).
- Calendar: the conversation's business calendar (its channel's, else its team's, else the shop's,
  else the built-in one) when the policy counts business hours, else calendar time. A calendar
  without opening hours cannot hold a due time: calendar time is used instead, and logged.
- New conversation: the policy is stored; first_response_due = created_at + first target and
  resolution_due = created_at + resolution target (both in the calendar); next_response_due stays
  empty until the shop has answered once; legal_due = created_at + legal_days calendar days (its own
  clock: never paused, never moved).
- The agent's public reply: the first-response clock stops (first_response_at is set by the caller;
  first_response_due stays for reports: met = first_response_at <= first_response_due). A first
  answer after its due time whose breach the sweep has not recorded yet records it now. The reply
  also stops the next-response clock (next_response_due cleared).
- A customer's message after the shop spoke last (waiting_since empty) and after the first answer
  starts the next-response clock: next_response_due = now + next target. One already running is
  not moved.
- Waiting on the customer (status pending): the resolution clock pauses (sla_paused_at = now).
  Leaving pending for an open status (the customer writes back, an agent reopens): resolution_due
  moves later by the business time that passed while paused; sla_paused_at is cleared.
- Resolved or closed: next_response_due, resolution_due and the pause are cleared. Reopened (a
  customer's message or an agent): the resolution clock restarts from now with the full target.
- Priority or team changed before the first answer: the policy is matched again and the due times
  computed again from created_at (the team may bring another calendar).
- A due time set anew drops its target's marks ("first_response:warned"…), so it can warn again;
  one only shifted by a pause keeps them.
- The sweep (every 30 s): in the statuses where the shop owes an answer (legal deadline: every
  status but resolved and closed), a due time in the past is a breach; one whose remaining time
  (business time for business-hours policies) is at most (100 − warn_percent) % of its target is a
  warning. Each is recorded once as the event "sla.warning" / "sla.breached" with data
  {"target": ..., "due": iso}, guarded by sla_marks on the row locked for update.

Hooks run inside the caller's transaction. On a conversation without a policy they cost no query;
matching a new or re-routed conversation costs one query for the tenant's policies.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import structlog
from django.db import transaction
from django.db.models import Case, DateTimeField, Q, TextField, Value, When
from django.db.models.functions import Cast, Coalesce, Least
from django.utils import timezone

from ..events import record_event
from ..lib import businesstime
from ..models import Conversation, SlaPolicy, Status
from ..models.conversations import ACTIVE_STATUSES, DONE_STATUSES
from .calendars import business_calendar

# Sorts after every real due time: "no clock is running".
NEVER = dt.datetime(9000, 1, 1, tzinfo=dt.UTC)

log = structlog.get_logger(__name__)

FIRST = "first_response"
NEXT = "next_response"
RESOLUTION = "resolution"
LEGAL = "legal"

WARNED = "warned"
BREACHED = "breached"

# Due times looked at per target and sweep run: a backlog is worked off over runs.
SWEEP_BATCH = 500


@dataclass(frozen=True)
class _Target:
    name: str
    field: str
    # Conditions of the target's partial index (Conversation.Meta), so the sweep can use it.
    running: Q
    statuses: tuple[str, ...]


_OPEN_STATUSES = tuple(s for s in Status.values if s not in DONE_STATUSES)
TARGETS = (
    _Target(
        FIRST,
        "first_response_due",
        Q(first_response_due__isnull=False, first_response_at__isnull=True),
        ACTIVE_STATUSES,
    ),
    _Target(NEXT, "next_response_due", Q(next_response_due__isnull=False), ACTIVE_STATUSES),
    _Target(RESOLUTION, "resolution_due", Q(resolution_due__isnull=False), ACTIVE_STATUSES),
    # No index of its own: few conversations carry a legal deadline.
    _Target(LEGAL, "legal_due", Q(legal_due__isnull=False), _OPEN_STATUSES),
)


# Matching


def matching_policy(conversation: Conversation) -> SlaPolicy | None:
    """The first enabled policy of the conversation's tenant whose conditions it meets. One query
    for the policies; one more for the tags, only when a policy asks about tags."""
    policies = SlaPolicy.objects.filter(tenant_id=conversation.tenant_id, enabled=True).order_by(
        "position", "id"
    )
    tags: set[str] | None = None
    for policy in policies:
        conditions = policy.conditions or {}
        if conditions.get("tags") and tags is None:
            tags = set(conversation.tags.values_list("name", flat=True)) if conversation.pk else set()
        if _matches(conversation, conditions, tags or set()):
            return policy
    return None


def _matches(conversation: Conversation, conditions: dict[str, Any], tags: set[str]) -> bool:
    def wants(key: str, value: object) -> bool:
        allowed = conditions.get(key)
        return not allowed or value in allowed

    language = (conversation.language or "").lower()
    languages = [str(lang).lower() for lang in conditions.get("languages") or []]
    if languages and language not in languages and language.split("-")[0] not in languages:
        return False
    if not (
        wants("channels", conversation.channel_id)
        and wants("channel_kinds", conversation.channel.kind)
        and wants("priorities", conversation.priority)
        and wants("teams", conversation.team_id)
    ):
        return False
    if conditions.get("tags") and not tags & set(conditions["tags"]):
        return False
    attributes = conditions.get("customer_attributes") or {}
    if attributes:
        have = conversation.customer.attributes or {}
        if any(have.get(key) != value for key, value in attributes.items()):
            return False
    return True


# Arithmetic


def _calendar(conversation: Conversation, policy: SlaPolicy) -> businesstime.Calendar:
    if not policy.business_hours:
        return businesstime.ALWAYS_OPEN
    return business_calendar(conversation.tenant, team=conversation.team, channel=conversation.channel)


def _add(
    calendar: businesstime.Calendar, start: dt.datetime, delta: dt.timedelta, conversation: Conversation
) -> dt.datetime:
    try:
        return calendar.add(start, delta)
    except businesstime.NeverOpen:
        # A calendar without opening hours would never make anything due: better a due time in
        # calendar time than none, and the shop learns from the log that its calendar is empty.
        log.warning(
            "sla.calendar_never_open", tenant=conversation.tenant_id, conversation=conversation.number
        )
        return businesstime.ALWAYS_OPEN.add(start, delta)


def _due(
    calendar: businesstime.Calendar, start: dt.datetime, minutes: int | None, conversation: Conversation
) -> dt.datetime | None:
    return None if minutes is None else _add(calendar, start, dt.timedelta(minutes=minutes), conversation)


def _set(
    conversation: Conversation,
    target: str,
    field: str,
    value: dt.datetime | None,
    fields: list[str],
    *,
    shifted: bool = False,
) -> None:
    """Set a due time; a due time set anew forgets its target's warning and breach. One only
    `shifted` by a pause keeps them: it is the same clock, and its breach was told already."""
    if getattr(conversation, field) == value:
        return
    setattr(conversation, field, value)
    fields.append(field)
    if shifted:
        return
    marks = [m for m in conversation.sla_marks or [] if not m.startswith(f"{target}:")]
    if marks != (conversation.sla_marks or []):
        conversation.sla_marks = marks
        if "sla_marks" not in fields:
            fields.append("sla_marks")


def _policy(conversation: Conversation) -> SlaPolicy | None:
    # sla_policy_id first: no query for conversations without a policy.
    return conversation.sla_policy if conversation.sla_policy_id is not None else None


# Hooks


def start_clocks(conversation: Conversation) -> None:
    """A new conversation: choose its policy and set its due times (saved here)."""
    fields = compute_from_creation(conversation, matching_policy(conversation))
    if fields:
        conversation.save(update_fields=fields)


def compute_from_creation(conversation: Conversation, policy: SlaPolicy | None) -> list[str]:
    fields: list[str] = []
    if conversation.sla_policy_id != (policy.pk if policy else None):
        conversation.sla_policy = policy
        fields.append("sla_policy")
    created = conversation.created_at
    if policy is None:
        first = resolution = legal = None
    else:
        calendar = _calendar(conversation, policy)
        first = _due(calendar, created, policy.first_response_minutes, conversation)
        resolution = _due(calendar, created, policy.resolution_minutes, conversation)
        legal = created + dt.timedelta(days=policy.legal_days) if policy.legal_days else None
    _set(conversation, FIRST, "first_response_due", first, fields)
    if conversation.status not in DONE_STATUSES:
        _set(conversation, RESOLUTION, "resolution_due", resolution, fields)
    _set(conversation, LEGAL, "legal_due", legal, fields)
    return fields


def on_routing_changed(conversation: Conversation) -> None:
    """Priority or team changed: before the first answer, match and compute again (saved here)."""
    if conversation.first_response_at is not None:
        return
    fields = compute_from_creation(conversation, matching_policy(conversation))
    if fields:
        conversation.save(update_fields=fields)


def on_reply(conversation: Conversation, now: dt.datetime) -> list[str]:
    """The agent answers publicly. Call before the caller sets first_response_at; returns the
    fields changed, for the caller's save."""
    fields: list[str] = []
    due = conversation.first_response_due
    marks = conversation.sla_marks or []
    late = conversation.first_response_at is None and due is not None and now > due
    if late and due is not None and f"{FIRST}:{BREACHED}" not in marks:
        conversation.sla_marks = [*marks, f"{FIRST}:{BREACHED}"]
        fields.append("sla_marks")
        _record(conversation, "sla.breached", FIRST, due)
    _set(conversation, NEXT, "next_response_due", None, fields)
    return fields


def on_customer_message(conversation: Conversation, now: dt.datetime) -> list[str]:
    """A customer writes on an existing conversation. Call before the caller changes status or
    waiting_since; returns the fields changed, for the caller's save."""
    policy = _policy(conversation)
    if policy is None:
        return []
    fields: list[str] = []
    calendar = _calendar(conversation, policy)
    if conversation.status == Status.PENDING:
        _resume(conversation, calendar, now, fields)
    elif conversation.status in DONE_STATUSES:
        _restart_resolution(conversation, policy, calendar, now, fields)
    shop_spoke_last = conversation.waiting_since is None and conversation.first_response_at is not None
    if shop_spoke_last and conversation.next_response_due is None:
        due = _due(calendar, now, policy.next_response_minutes, conversation)
        _set(conversation, NEXT, "next_response_due", due, fields)
    return fields


def on_status(conversation: Conversation, before: str, after: str, now: dt.datetime) -> list[str]:
    """The status changes from `before` to `after`; returns the fields changed, for the caller's save."""
    policy = _policy(conversation)
    if policy is None or before == after:
        return []
    fields: list[str] = []
    if after in DONE_STATUSES:
        _set(conversation, NEXT, "next_response_due", None, fields)
        _set(conversation, RESOLUTION, "resolution_due", None, fields)
        _pause(conversation, None, fields)
        return fields
    calendar = _calendar(conversation, policy)
    if before in DONE_STATUSES:
        _restart_resolution(conversation, policy, calendar, now, fields)
    elif before == Status.PENDING:
        _resume(conversation, calendar, now, fields)
    if after == Status.PENDING and conversation.sla_paused_at is None:
        _pause(conversation, now, fields)
    return fields


def _pause(conversation: Conversation, at: dt.datetime | None, fields: list[str]) -> None:
    if conversation.sla_paused_at != at:
        conversation.sla_paused_at = at
        fields.append("sla_paused_at")


def _resume(
    conversation: Conversation, calendar: businesstime.Calendar, now: dt.datetime, fields: list[str]
) -> None:
    paused_at = conversation.sla_paused_at
    if paused_at is None:
        return
    due = conversation.resolution_due
    if due is not None:
        paused = calendar.between(paused_at, now)
        if paused:
            moved = _add(calendar, due, paused, conversation)
            _set(conversation, RESOLUTION, "resolution_due", moved, fields, shifted=True)
    _pause(conversation, None, fields)


def _restart_resolution(
    conversation: Conversation,
    policy: SlaPolicy,
    calendar: businesstime.Calendar,
    now: dt.datetime,
    fields: list[str],
) -> None:
    due = _due(calendar, now, policy.resolution_minutes, conversation)
    _set(conversation, RESOLUTION, "resolution_due", due, fields)
    _pause(conversation, None, fields)


def _record(conversation: Conversation, kind: str, target: str, due: dt.datetime) -> None:
    record_event(
        conversation.tenant_id,
        kind,
        conversation=conversation,
        # The assignee (or, when nobody has it, the supervisors) is alerted on their open pages.
        data={"target": target, "due": due.isoformat(), "assignee": conversation.assignee_id},
    )


# The sweep


Calendars = dict[tuple[int | None, ...], businesstime.Calendar]


def running_clock(conversation: Conversation) -> tuple[str, dt.datetime] | None:
    """The most pressing clock still running, for the badge on inbox rows and the conversation:
    ("first_response" | "next_response" | "promise" | "resolution", due). No queries."""
    if conversation.status not in ACTIVE_STATUSES:
        return None
    clocks: list[tuple[dt.datetime, str]] = []
    if conversation.first_response_at is None:
        if conversation.first_response_due is not None:
            clocks.append((conversation.first_response_due, "first_response"))
        elif conversation.promised_by is not None:
            # No SLA policy, but the customer was told a time: that is the clock to watch.
            clocks.append((conversation.promised_by, "promise"))
    if conversation.next_response_due is not None:
        clocks.append((conversation.next_response_due, "next_response"))
    if conversation.resolution_due is not None and conversation.sla_paused_at is None:
        clocks.append((conversation.resolution_due, "resolution"))
    if not clocks:
        return None
    due, target = min(clocks)
    return target, due


def due_key() -> Case:
    """When the most pressing running clock is due — `running_clock` in SQL, so the database
    sorts by it; conversations without a running clock (and inactive ones) sort after the rest."""
    never = Value(NEVER, output_field=DateTimeField())
    first = Case(
        When(first_response_at__isnull=True, first_response_due__isnull=False, then="first_response_due"),
        When(first_response_at__isnull=True, promised_by__isnull=False, then="promised_by"),
        default=never,
        output_field=DateTimeField(),
    )
    resolution = Case(
        When(resolution_due__isnull=False, sla_paused_at__isnull=True, then="resolution_due"),
        default=never,
        output_field=DateTimeField(),
    )
    running = Least(first, Coalesce("next_response_due", never), resolution, output_field=DateTimeField())
    return Case(When(status__in=ACTIVE_STATUSES, then=running), default=never, output_field=DateTimeField())


def sla_sweep(now: dt.datetime | None = None) -> int:
    """Record the warnings and breaches that are due, each once. Run by the scheduler every 30 s;
    returns how many events it recorded.

    Each target looks at its SWEEP_BATCH running due times, earliest first (breaches before anything
    else, then the warnings nearest), so one busy target cannot starve the others. Rows are judged
    unlocked; only those with something to record are locked and judged again."""
    now = now or timezone.now()
    recorded = 0
    calendars: Calendars = {}
    for target in TARGETS:
        due_field = target.field
        candidates = (
            Conversation.objects.annotate(marks_text=Cast("sla_marks", output_field=TextField()))
            .filter(target.running, status__in=target.statuses)
            # The JSON list as text: portable (SQLite and PostgreSQL), and our marks are plain words.
            .exclude(marks_text__contains=f'"{target.name}:{BREACHED}"')
            .filter(Q(**{f"{due_field}__lte": now}) | ~Q(marks_text__contains=f'"{target.name}:{WARNED}"'))
            .select_related("sla_policy")
            .order_by(due_field)[:SWEEP_BATCH]
        )
        for conversation in candidates:
            if _verdict(conversation, target, now, calendars) is not None:
                recorded += _record_once(conversation.pk, target, now, calendars)
    return recorded


def _verdict(
    conversation: Conversation, target: _Target, now: dt.datetime, calendars: Calendars
) -> tuple[str, str, dt.datetime] | None:
    """(event kind, mark, due time) when the target has a warning or breach to record, else None."""
    if conversation.status not in target.statuses:
        return None
    due: dt.datetime | None = getattr(conversation, target.field)
    if due is None or (target.name == FIRST and conversation.first_response_at is not None):
        return None
    marks = conversation.sla_marks or []
    if f"{target.name}:{BREACHED}" in marks:
        return None
    if due <= now:
        return "sla.breached", BREACHED, due
    if f"{target.name}:{WARNED}" not in marks and _warn_now(conversation, target, due, now, calendars):
        return "sla.warning", WARNED, due
    return None


def _record_once(pk: int, target: _Target, now: dt.datetime, calendars: Calendars) -> int:
    with transaction.atomic():
        # Locked, then judged again: a second scheduler waits here and then sees the marks written.
        conversation = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("sla_policy")
            .filter(pk=pk)
            .first()
        )
        verdict = None if conversation is None else _verdict(conversation, target, now, calendars)
        if conversation is None or verdict is None:
            return 0
        kind, mark, due = verdict
        conversation.sla_marks = [*(conversation.sla_marks or []), f"{target.name}:{mark}"]
        conversation.save(update_fields=["sla_marks"])
        _record(conversation, kind, target.name, due)
        return 1


def _warn_now(
    conversation: Conversation,
    target: _Target,
    due: dt.datetime,
    now: dt.datetime,
    calendars: Calendars,
) -> bool:
    """Whether warn_percent of the target's time has passed: the time left (business time for
    business-hours policies; calendar time for the legal deadline) is at most the rest of the target.
    Counting what is left rather than what passed keeps pauses and restarts out of the sum."""
    policy = conversation.sla_policy
    if policy is None:
        return False
    if target.name == LEGAL:
        if not policy.legal_days:
            return False
        total = dt.timedelta(days=policy.legal_days)
        left = due - now
    else:
        minutes = {
            FIRST: policy.first_response_minutes,
            NEXT: policy.next_response_minutes,
            RESOLUTION: policy.resolution_minutes,
        }[target.name]
        if not minutes:
            return False
        total = dt.timedelta(minutes=minutes)
        key = (conversation.tenant_id, conversation.team_id, conversation.channel_id, policy.business_hours)
        calendar = calendars.get(key)
        if calendar is None:
            calendar = calendars[key] = _calendar(conversation, policy)
        left = calendar.between(now, due)
    return left <= total * (100 - min(policy.warn_percent, 100)) / 100
