"""The promise told to the customer: by when a human answers ("answer by"), never earlier than the
shop can keep it. The model (docs/service.md):

1. **Queue.** Conversations ahead of this one: unanswered (no first response yet) conversations of
   the same team — or of the shop when it has no team — in active statuses, that arrived earlier,
   in this conversation's language or in none stated.
2. **Pace.** First answers the team gave per open business hour over the last `PACE_DAYS` days
   (at least `MIN_PACE_PER_HOUR`, so a new shop with no history still gets a finite promise),
   scaled while open by the agents online now against the agents who gave those answers.
3. **Estimate.** The queue is worked off at that pace from the next opening: `ahead / pace` business
   hours, plus `handling_minutes` for this conversation itself, with a safety margin of
   `margin_percent` — counted on the conversation's business calendar.
4. **Commitment.** When an SLA policy set a first-response due time, the promise is the later of the
   two: the shop's target, or the queue's honest estimate when the queue says it cannot be met.
5. **Words.** Rounded up to the next `round_minutes` (a person reads "by 14:30", not "by 14:23").

Every input and step is returned in `Promise.why`, shown to agents next to the promise.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone

from ..lib import businesstime
from ..models import ACTIVE_STATUSES, Availability, Conversation, Membership, Tenant
from .calendars import business_calendar

# Defaults of the keys in Tenant.service (a shop overrides any of them).
DEFAULTS: dict[str, Any] = {
    # Minutes of business time promised when no SLA policy applies and the queue is short:
    # half of online shoppers expect an answer within 3 hours.
    "promise_minutes": 180,
    "handling_minutes": 15,
    "margin_percent": 25,
    "round_minutes": 15,
}
PACE_DAYS = 14
MIN_PACE_PER_HOUR = 2.0


def setting(tenant: Tenant, key: str) -> Any:
    value = (tenant.service or {}).get(key)
    return DEFAULTS[key] if value is None else value


@dataclass(frozen=True)
class Promise:
    promised_by: dt.datetime
    why: dict[str, Any] = field(default_factory=dict)


def queue_ahead(conversation: Conversation) -> int:
    """Unanswered conversations of the same team (or the shop) that arrived before this one — in
    its language, or in none stated (a conversation in another language waits for other people)."""
    same_language = Q(language="") | Q(language=conversation.language) if conversation.language else Q()
    return (
        Conversation.objects.filter(
            same_language,
            tenant_id=conversation.tenant_id,
            team=conversation.team_id,
            status__in=ACTIVE_STATUSES,
            first_response_at=None,
            merged_into=None,
            created_at__lt=conversation.created_at,
        )
        .exclude(pk=conversation.pk)
        .count()
    )


@dataclass(frozen=True)
class Pace:
    per_hour: float  # what the queue is worked off at now
    measured: float  # first answers per open hour over the last PACE_DAYS days
    agents_usual: int  # agents who gave those answers
    agents_online: int | None  # online now and able to take it; None outside opening hours


def pace_per_hour(conversation: Conversation, calendar: businesstime.Calendar, now: dt.datetime) -> Pace:
    """First answers per open business hour of the team (or shop) over the last PACE_DAYS days,
    scaled by who is online now: while the calendar is open, a team with half its usual agents
    online works the queue off at half the pace (agents went offline: the promise grows later, and
    promise_watch tells the customer). Outside opening hours the usual staff is expected back."""
    since = now - dt.timedelta(days=PACE_DAYS)
    history = Conversation.objects.filter(
        tenant_id=conversation.tenant_id,
        team=conversation.team_id,
        first_response_at__gte=since,
        first_response_at__lt=now,
    ).aggregate(answered=Count("id"), agents=Count("assignee", distinct=True))
    open_hours = calendar.between(since, now).total_seconds() / 3600
    measured = (
        max(MIN_PACE_PER_HOUR, history["answered"] / open_hours) if open_hours > 0 else MIN_PACE_PER_HOUR
    )
    usual = int(history["agents"])
    online: int | None = None
    per_hour = measured
    if calendar.is_open(now):
        members = Membership.objects.filter(
            tenant_id=conversation.tenant_id, is_active=True, availability=Availability.ONLINE
        )
        if conversation.team_id is not None:
            members = members.filter(teams=conversation.team_id)
        online = members.count()
        if usual > online:
            per_hour = max(MIN_PACE_PER_HOUR, measured * online / usual)
    return Pace(per_hour=per_hour, measured=measured, agents_usual=usual, agents_online=online)


def compute_promise(conversation: Conversation, now: dt.datetime | None = None) -> Promise:
    """The answer-by time for this conversation, with the reasons (see the module's docstring)."""
    now = now or timezone.now()
    tenant = conversation.tenant
    calendar = business_calendar(tenant, team=conversation.team, channel=conversation.channel)
    ahead = queue_ahead(conversation)
    pace = pace_per_hour(conversation, calendar, now)
    handling = float(setting(tenant, "handling_minutes"))
    margin = 1 + float(setting(tenant, "margin_percent")) / 100
    queue_minutes = (ahead / pace.per_hour * 60 + handling) * margin
    try:
        estimate = calendar.add(now, dt.timedelta(minutes=queue_minutes))
        target = conversation.first_response_due or calendar.add(
            now, dt.timedelta(minutes=float(setting(tenant, "promise_minutes")))
        )
    except businesstime.NeverOpen:
        # A calendar with no opening hours left: count calendar time rather than promise nothing.
        calendar = businesstime.ALWAYS_OPEN
        estimate = calendar.add(now, dt.timedelta(minutes=queue_minutes))
        target = conversation.first_response_due or calendar.add(
            now, dt.timedelta(minutes=float(setting(tenant, "promise_minutes")))
        )
    chosen = max(estimate, target)
    promised = _round_up(chosen, int(setting(tenant, "round_minutes")), calendar.time_zone)
    return Promise(
        promised_by=promised,
        why={
            "queue_ahead": ahead,
            "pace_per_hour": round(pace.per_hour, 2),
            "pace_measured": round(pace.measured, 2),
            "agents_usual": pace.agents_usual,
            "agents_online": pace.agents_online,
            "queue_estimate": estimate.isoformat(),
            "target": target.isoformat(),
            "target_from": "sla" if conversation.first_response_due else "shop",
            "by": "queue" if estimate > target else "target",
            "calendar_time_zone": calendar.time_zone,
        },
    )


def _round_up(at: dt.datetime, minutes: int, time_zone: str) -> dt.datetime:
    """Up to the next multiple of `minutes` of the local clock (whole-hour zones and half-hour ones
    alike: rounding happens on the wall time)."""
    if minutes <= 1:
        return at
    from zoneinfo import ZoneInfo

    local = at.astimezone(ZoneInfo(time_zone))
    into = local.minute % minutes
    if into == 0 and local.second == 0 and local.microsecond == 0:
        return at.astimezone(dt.UTC)
    up = local.replace(second=0, microsecond=0) + dt.timedelta(minutes=minutes - into)
    return up.astimezone(dt.UTC)
