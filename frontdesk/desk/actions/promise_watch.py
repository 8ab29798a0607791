"""Revising the promise when it is about to break: the customer is told the new time once, before
the old one passes, and supervisors are warned (docs/service.md, "The promise").

The rules — the spec; the sweep below implements each of them:

- Watched: conversations in an active status (new, open, on hold), not merged, with a promise
  (`promised_by`), no first answer yet (`first_response_at` empty) and never revised
  (`promise_revised_at` empty: a promise is revised at most once), whose promise falls within the
  next `REVISE_WINDOW` or passed less than `LOOKBACK` ago. A promise broken longer ago than that
  (the scheduler was down for days, or the first run after an upgrade) is left to people: the
  overdue clock and the queue's overdue points already show it, and telling a customer days late
  that we need more time helps no one.
- At risk: the promise has passed, or the queue's estimate computed now (`compute_promise`: the
  conversations ahead at the team's pace on the business calendar, plus this one's handling time
  and the safety margin) ends later than the promise while conversations are ahead of this one
  (with none ahead, only a passed promise is revised). Only the estimate counts, not the shop's
  target: the target ("promise_minutes" of business time) recomputed from now would move later
  with every minute and make every promise look broken.
- Revised: in one transaction, on the row locked and judged again, `promise_original` keeps the
  promise first told, `promised_by` becomes the estimate — never earlier than now + `MIN_LEAD` —
  rounded up like the first promise on the calendar's clock, and `promise_revised_at` = now.
- Told: a system message in the customer's language (English, Polish, Russian) and channel, to the
  same recipient as the acknowledgement, queued for delivery in that transaction. Not told: blocked
  customers, shops that turned customer messages off (`Tenant.service["acknowledge"] is False`),
  a channel that is disabled or cannot send, a live chat an agent has (the agent is there), a
  customer without an address in the reply channel. Their times and events are revised all the
  same: the shop's own commitment moved, and reports must see it (`promise.revised` says
  `"message": null`).
- Recorded: the events "promise.at_risk" (for supervisors; the event is what their pages hear) and
  "promise.revised" (`from`, `to`, `why`: the estimate's inputs and the reason).

**Promise kept** (`do_reply`: `promise_kept = first answer <= promised_by`) is measured against the
promise the customer last heard — the revised one, since the customer was told it and the shop
committed to it; `promise_original` stays, so reports can count revisions and, where they want to,
measure against the first promise too. A customer who could not be told still holds the original;
`promise.revised` with no message tells those apart.

A promise made again for a customer's message on a resolved conversation is not watched: that
conversation has its first answer already (the same limit as `promise_kept`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import structlog
from django.db import transaction
from django.utils import timezone

from ..events import record_event
from ..models import ACTIVE_STATUSES, Conversation, Message
from .acknowledge import customer_zone, language_of, when_words, who_words
from .outbox import queue_system_message
from .promise import _round_up, compute_promise, setting
from .status import status_url

log = structlog.get_logger(__name__)

# How far ahead a promise is checked: near enough that the estimate is worth recomputing every
# minute, far enough that the customer hears of the delay before the promised time.
REVISE_WINDOW = dt.timedelta(minutes=30)
# How long after it passed a promise is still revised (see the docstring).
LOOKBACK = dt.timedelta(days=3)
# A revised promise is never sooner than this: a new time that passes while the message is on
# its way would be broken again at once.
MIN_LEAD = dt.timedelta(minutes=10)
# Conversations looked at per run (every 60 s), earliest promise first; a backlog is worked off
# over runs.
SWEEP_BATCH = 200

# {number}, {who}, {when}, {status_url}; the languages of acknowledge.TEMPLATES.
TEMPLATES: dict[str, str] = {
    "en": (
        "We are sorry: we need more time than we said (reference #{number}). {who} will answer {when}. "
        "Details: {status_url}"
    ),
    "pl": (
        "Przepraszamy, potrzebujemy więcej czasu, niż obiecaliśmy (numer sprawy #{number}). "
        "{who} odpowie {when}. Szczegóły: {status_url}"
    ),
    "ru": (
        "Приносим извинения: нам нужно больше времени, чем мы обещали (номер обращения #{number}). "
        "{who} ответит {when}. Подробности: {status_url}"
    ),
}


@dataclass(frozen=True)
class Revision:
    original: dt.datetime
    revised_to: dt.datetime
    estimate: dt.datetime
    past_due: bool
    why: dict[str, Any]


def promise_sweep(now: dt.datetime | None = None) -> int:
    """Revise every promise about to break, each at most once. Run by the scheduler every 60 s;
    returns how many promises it revised.

    Rows are judged unlocked; only those at risk are locked and judged again, so two schedulers
    running at once revise a promise once. There is no index on `promised_by` yet: the filter is a
    range on it with the conditions a partial index would carry (first_response_at and
    promise_revised_at empty), ready for one."""
    now = now or timezone.now()
    candidates = (
        Conversation.objects.filter(
            promised_by__gte=now - LOOKBACK,
            promised_by__lte=now + REVISE_WINDOW,
            first_response_at__isnull=True,
            promise_revised_at__isnull=True,
            status__in=ACTIVE_STATUSES,
            merged_into__isnull=True,
        )
        .select_related("tenant", "team", "channel")
        .order_by("promised_by", "pk")[:SWEEP_BATCH]
    )
    revised = 0
    for conversation in candidates:
        try:
            if at_risk(conversation, now) is not None:
                revised += _revise_once(conversation.pk, now)
        except Exception:
            # One conversation that cannot be judged (a broken calendar…) must not stop the others,
            # which come after it in every run.
            log.exception("promise.revise_failed", conversation=conversation.pk)
    return revised


def at_risk(conversation: Conversation, now: dt.datetime) -> Revision | None:
    """The revision due for this conversation's promise, or None while the promise can be kept or
    must not be revised (answered, revised already, no longer active)."""
    original = conversation.promised_by
    if (
        original is None
        or conversation.first_response_at is not None
        or conversation.promise_revised_at is not None
        or conversation.status not in ACTIVE_STATUSES
        or conversation.merged_into_id is not None
    ):
        return None
    promise = compute_promise(conversation, now)
    estimate = dt.datetime.fromisoformat(promise.why["queue_estimate"])
    past_due = original <= now
    # Nobody ahead: the estimate is only this conversation's own handling time plus the margin,
    # which would call every unanswered promise at risk ~20 minutes before it falls due, while an
    # agent may well be answering. Then only a promise that has passed is revised.
    if not past_due and (promise.why["queue_ahead"] == 0 or estimate <= original):
        return None
    revised_to = _round_up(
        max(estimate, now + MIN_LEAD),
        int(setting(conversation.tenant, "round_minutes")),
        promise.why["calendar_time_zone"],
    )
    why = {**promise.why, "reason": "past_due" if past_due else "queue_estimate"}
    return Revision(original=original, revised_to=revised_to, estimate=estimate, past_due=past_due, why=why)


def _revise_once(pk: int, now: dt.datetime) -> int:
    with transaction.atomic():
        # Locked, then judged again: a second scheduler waits here and then sees promise_revised_at.
        conversation = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("tenant", "team", "channel", "reply_channel", "customer", "assignee__user")
            .filter(pk=pk)
            .first()
        )
        revision = None if conversation is None else at_risk(conversation, now)
        if conversation is None or revision is None:
            return 0
        conversation.promise_original = revision.original
        conversation.promised_by = revision.revised_to
        conversation.promise_revised_at = now
        conversation.save(update_fields=["promise_original", "promised_by", "promise_revised_at"])
        message = _tell_customer(conversation, revision.revised_to, now)
        record_event(
            conversation.tenant_id,
            "promise.at_risk",
            conversation=conversation,
            data={
                "promised_by": revision.original.isoformat(),
                "estimate": revision.estimate.isoformat(),
                "past_due": revision.past_due,
                "assignee": conversation.assignee_id,
            },
        )
        record_event(
            conversation.tenant_id,
            "promise.revised",
            conversation=conversation,
            data={
                "from": revision.original.isoformat(),
                "to": revision.revised_to.isoformat(),
                "why": revision.why,
                "message": message.pk if message is not None else None,
            },
        )
    log.info(
        "promise.revised",
        conversation=pk,
        original=revision.original.isoformat(),
        revised_to=revision.revised_to.isoformat(),
        told=message is not None,
    )
    return 1


def may_tell(conversation: Conversation) -> bool:
    """Whether the customer may be written to about the new time (the acknowledgement's rules,
    without its once-per-period limit: a revision happens once anyway)."""
    if (conversation.tenant.service or {}).get("acknowledge") is False:
        return False
    if conversation.customer.blocked:
        return False
    channel = conversation.effective_reply_channel
    if channel.disabled or not channel.adapter.capabilities.can_send:
        return False
    # A live chat an agent has: the agent is there to say it.
    return not (channel.adapter.capabilities.live and conversation.assignee_id is not None)


def revision_text(conversation: Conversation, promised_by: dt.datetime, now: dt.datetime) -> str:
    language = language_of(conversation)
    return TEMPLATES[language].format(
        number=conversation.number,
        who=who_words(conversation, language),
        when=when_words(promised_by, now, customer_zone(conversation), language),
        status_url=status_url(conversation),
    )


def _tell_customer(conversation: Conversation, promised_by: dt.datetime, now: dt.datetime) -> Message | None:
    if not may_tell(conversation):
        return None
    channel = conversation.effective_reply_channel
    identity = conversation.customer.identity(channel.adapter.capabilities.recipient_kind)
    if identity is None:
        return None
    return queue_system_message(
        conversation,
        channel,
        identity.address,
        revision_text(conversation, promised_by, now),
        language=language_of(conversation),
        now=now,
    )
