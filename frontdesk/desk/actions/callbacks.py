"""The callback queue: a call the customer asked for on their status page, from its window to an
outcome.

Life cycle (models/service.py, CallbackState):
- scheduled → due when its window starts (the scheduler's `callbacks_due`, event "callback.due");
- due → done when an agent reached the customer (`do_log_call`, outcome "reached"): the call is the
  shop's answer, so it records the first response and whether the promise was kept;
- due stays due after "no answer"/"busy", out of the queue until `next_attempt_at` (30 minutes
  later) when that is still inside the window, else → failed;
- → failed at once after "wrong number", and when the window ends without reaching them; the
  customer is then offered another way (a message in their reply channel, else by email, in their
  language, with the status page link);
- scheduled or due → cancelled by an agent (`do_cancel_callback`).

Every transition is a conditional UPDATE on the state the row was seen in, so two schedulers (or a
scheduler and an agent) racing make each change once; only the one that changed the row records
the event and sends the message.
"""

from __future__ import annotations

import datetime as dt

import structlog
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from ..errors import Conflict, Invalid, NotFound
from ..events import record_event
from ..models import (
    Callback,
    CallbackAttempt,
    CallbackOutcome,
    CallbackState,
    Channel,
    Conversation,
    IdentityKind,
    Membership,
    Message,
)
from . import sla
from .acknowledge import customer_zone, language_of
from .outbox import queue_system_message
from .status import status_url

log = structlog.get_logger(__name__)

# Rows each kind of transition looks at per run of the sweep (it runs every 30 s).
SWEEP_BATCH = 200
# After an unanswered or busy call, the next try: not sooner.
RETRY_AFTER = dt.timedelta(minutes=30)
NOTE_MAX_LENGTH = 2000
OPEN_STATES = (CallbackState.SCHEDULED, CallbackState.DUE)

# {phone}, {start}, {end} (the window on the customer's clock), {number}, {status_url}.
NOT_REACHED: dict[str, str] = {
    "en": (
        "We tried to call you at {phone} between {start} and {end} as you asked, but could not reach "
        "you (reference #{number}). Please choose another way or another time for our answer: {status_url}"
    ),
    "pl": (
        "Próbowaliśmy zadzwonić pod numer {phone} w godzinach {start}–{end}, tak jak prosiłeś(-aś), "
        "ale nie udało się połączyć (numer sprawy #{number}). Wybierz inny sposób lub inny termin "
        "odpowiedzi: {status_url}"
    ),
    "ru": (
        "Мы пытались позвонить вам по номеру {phone} с {start} до {end}, как вы просили, но не смогли "
        "дозвониться (номер обращения #{number}). Пожалуйста, выберите другой способ или другое время "
        "для ответа: {status_url}"
    ),
}
WRONG_NUMBER: dict[str, str] = {
    "en": (
        "We called {phone} as you asked, but it seems to be the wrong number (reference #{number}). "
        "Please check the number, or choose another way for our answer: {status_url}"
    ),
    "pl": (
        "Zadzwoniliśmy pod numer {phone}, tak jak prosiłeś(-aś), ale wygląda na to, że to nie jest "
        "Twój numer (numer sprawy #{number}). Sprawdź numer lub wybierz inny sposób odpowiedzi: "
        "{status_url}"
    ),
    "ru": (
        "Мы позвонили по номеру {phone}, как вы просили, но, похоже, это не ваш номер (номер "
        "обращения #{number}). Проверьте номер или выберите другой способ ответа: {status_url}"
    ),
}


def access_callback(member: Membership, callback_id: int | str) -> Callback:
    """A callback of the member's shop, else NotFound (another shop's looks like a missing one)."""
    try:
        return Callback.objects.select_related("conversation__customer", "conversation__tenant").get(
            tenant_id=member.tenant_id, pk=callback_id
        )
    except (Callback.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def _check_open(member: Membership, callback: Callback) -> None:
    if not member.is_active or member.tenant_id != callback.tenant_id:
        raise NotFound()
    if callback.state not in OPEN_STATES:
        raise Conflict(_("This callback is already finished."), code="callback_finished")


def queue_order(now: dt.datetime) -> list[Q]:
    """Filters of the agents' list, in the order shown: due now, due later (waiting for a retry),
    then scheduled."""
    waiting = Q(next_attempt_at__gt=now)
    return [
        Q(state=CallbackState.DUE) & ~waiting,
        Q(state=CallbackState.DUE) & waiting,
        Q(state=CallbackState.SCHEDULED),
    ]


# --- The sweep ------------------------------------------------------------------------------------


def callbacks_due(now: dt.datetime | None = None) -> int:
    """Bring callbacks whose window has started into the queue, and fail those whose window ended
    without reaching the customer. Run by the scheduler every 30 s; returns the changes made."""
    now = now or timezone.now()
    changed = 0
    starting = (
        Callback.objects.filter(state=CallbackState.SCHEDULED, window_start__lte=now)
        .order_by("window_start", "pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    for pk in list(starting):
        changed += _make_due(pk, now)
    # After the above, so that one the scheduler missed entirely (it was down) is due, then failed.
    ended = (
        Callback.objects.filter(state=CallbackState.DUE, window_end__lte=now)
        .order_by("window_end", "pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    for pk in list(ended):
        with transaction.atomic():
            callback = Callback.objects.select_related("conversation__customer", "conversation__tenant").get(
                pk=pk
            )
            changed += _fail(callback, CallbackState.DUE, now, reason="window_ended")
    return changed


def _make_due(pk: int, now: dt.datetime) -> int:
    with transaction.atomic():
        updated = Callback.objects.filter(pk=pk, state=CallbackState.SCHEDULED).update(
            state=CallbackState.DUE, updated_at=now
        )
        if not updated:
            return 0  # another scheduler, or an agent, was first
        callback = Callback.objects.select_related("conversation").get(pk=pk)
        record_event(
            callback.tenant_id,
            "callback.due",
            conversation=callback.conversation,
            data={
                "callback": callback.pk,
                "phone": callback.phone,
                "window_start": callback.window_start.isoformat(),
                "window_end": callback.window_end.isoformat(),
            },
        )
    return 1


def _fail(
    callback: Callback,
    from_state: str,
    now: dt.datetime,
    *,
    reason: str,
    member: Membership | None = None,
) -> int:
    """`from_state` → failed, once; then tell the customer. Inside the caller's transaction."""
    updated = Callback.objects.filter(pk=callback.pk, state=from_state).update(
        state=CallbackState.FAILED, completed_at=now, updated_at=now, next_attempt_at=None
    )
    if not updated:
        return 0
    callback.state = CallbackState.FAILED
    callback.completed_at = now
    callback.next_attempt_at = None
    message = offer_another_way(callback, now, wrong_number=reason == "wrong_number")
    record_event(
        callback.tenant_id,
        "callback.failed",
        conversation=callback.conversation,
        actor=member,
        data={"callback": callback.pk, "reason": reason, "message": message.pk if message else None},
    )
    return 1


# --- Telling the customer -------------------------------------------------------------------------


def _route(conversation: Conversation, avoid: str) -> tuple[Channel, str] | None:
    """Where the customer hears from us: the conversation's reply channel when it can send to them,
    else their email through the shop's email channel. `avoid`: an address known to be wrong."""
    customer = conversation.customer
    channel = conversation.effective_reply_channel
    caps = channel.adapter.capabilities
    if not channel.disabled and caps.can_send:
        identity = customer.identity(caps.recipient_kind)
        if identity is not None and identity.address != avoid:
            return channel, identity.address
    email = customer.identity(IdentityKind.EMAIL)
    if email is None:
        return None
    for candidate in Channel.objects.filter(tenant_id=conversation.tenant_id, disabled=False).order_by("pk"):
        caps = candidate.adapter.capabilities
        if caps.can_send and caps.recipient_kind == IdentityKind.EMAIL and not caps.live:
            return candidate, email.address
    return None


def another_way_text(callback: Callback, *, wrong_number: bool) -> str:
    conversation = callback.conversation
    language = language_of(conversation)
    zone = customer_zone(conversation)
    start, end = callback.window_start.astimezone(zone), callback.window_end.astimezone(zone)
    template = (WRONG_NUMBER if wrong_number else NOT_REACHED)[language]
    return template.format(
        phone=callback.phone,
        start=start.strftime("%d.%m %H:%M"),
        end=end.strftime("%H:%M") if end.date() == start.date() else end.strftime("%d.%m %H:%M"),
        number=conversation.number,
        status_url=status_url(conversation),
    )


def offer_another_way(callback: Callback, now: dt.datetime, *, wrong_number: bool) -> Message | None:
    """Store and queue the message asking the customer for another way or time. None when there is
    no way to write to them (the agents see the failed callback and the event)."""
    conversation = callback.conversation
    route = _route(conversation, avoid=callback.phone)
    if route is None:
        log.warning("callback.no_route", tenant=callback.tenant_id, callback=callback.pk)
        return None
    channel, address = route
    return queue_system_message(
        conversation,
        channel,
        address,
        another_way_text(callback, wrong_number=wrong_number),
        language=language_of(conversation),
        now=now,
    )


# --- What agents do -------------------------------------------------------------------------------


def check_log_call(member: Membership, callback: Callback, outcome: str, note: str) -> tuple[str, str]:
    """Validate a call attempt; returns the outcome and the cleaned note."""
    _check_open(member, callback)
    if outcome not in CallbackOutcome.values:
        raise Invalid(fields={"outcome": [_("Choose how the call went.")]})
    note = (note or "").strip()
    if len(note) > NOTE_MAX_LENGTH:
        raise Invalid(
            fields={"note": [_("At most %(n)d characters.") % {"n": NOTE_MAX_LENGTH}]},
        )
    return outcome, note


def do_log_call(
    member: Membership, callback: Callback, outcome: str, note: str = "", now: dt.datetime | None = None
) -> Callback:
    """Record a call an agent made and move the callback on (see the module's docstring)."""
    outcome, note = check_log_call(member, callback, outcome, note)
    now = now or timezone.now()
    with transaction.atomic():
        # Locked and checked again: a sweep or a colleague may have finished it meanwhile.
        callback = (
            Callback.objects.select_for_update(of=("self",))
            .select_related("conversation__customer", "conversation__tenant")
            .get(pk=callback.pk)
        )
        _check_open(member, callback)
        seen_state = callback.state
        CallbackAttempt.objects.create(callback=callback, member=member, at=now, outcome=outcome, note=note)
        callback.attempts += 1
        callback.outcome = outcome
        callback.updated_at = now
        fields = ["attempts", "outcome", "updated_at"]
        retry_at = now + RETRY_AFTER
        retry = (
            outcome in (CallbackOutcome.NO_ANSWER, CallbackOutcome.BUSY) and retry_at < callback.window_end
        )
        if outcome == CallbackOutcome.REACHED:
            callback.state = CallbackState.DONE
            callback.completed_at = now
            callback.next_attempt_at = None
            fields += ["state", "completed_at", "next_attempt_at"]
        elif retry:
            # Out of the queue until then (a call made before the window puts it in the queue).
            callback.state = CallbackState.DUE
            callback.next_attempt_at = retry_at
            fields += ["state", "next_attempt_at"]
        callback.save(update_fields=fields)
        record_event(
            callback.tenant_id,
            "callback.attempted",
            conversation=callback.conversation,
            actor=member,
            data={
                "callback": callback.pk,
                "outcome": outcome,
                "attempts": callback.attempts,
                "next_attempt_at": retry_at.isoformat() if retry else None,
            },
        )
        if outcome == CallbackOutcome.REACHED:
            _record_answer(member, callback, now)
        elif not retry:
            # A wrong number, or no time left in the window for another try.
            reason = "wrong_number" if outcome == CallbackOutcome.WRONG_NUMBER else "no_time_left"
            _fail(callback, seen_state, now, reason=reason, member=member)
    return callback


def _record_answer(member: Membership, callback: Callback, now: dt.datetime) -> None:
    """Reaching the customer by phone is the shop's answer: the first response (and whether the
    promise was kept), as a written reply would record it (conversations.do_reply)."""
    conversation = Conversation.objects.select_for_update(of=("self",)).get(pk=callback.conversation_id)
    fields = sla.on_reply(conversation, now)  # before first_response_at is set
    if conversation.first_response_at is None:
        conversation.first_response_at = now
        fields.append("first_response_at")
        if conversation.promised_by is not None:
            conversation.promise_kept = now <= conversation.promised_by
            fields.append("promise_kept")
    if fields:
        conversation.updated_at = now
        conversation.save(update_fields=[*fields, "updated_at"])
    record_event(
        conversation.tenant_id,
        "callback.done",
        conversation=conversation,
        actor=member,
        data={"callback": callback.pk, "first_response": conversation.first_response_at == now},
    )


def do_cancel_callback(member: Membership, callback: Callback, now: dt.datetime | None = None) -> Callback:
    """An agent cancels a call still to make (the customer asked us not to call, or was answered
    otherwise). The customer is not told: they know why."""
    _check_open(member, callback)
    now = now or timezone.now()
    with transaction.atomic():
        updated = Callback.objects.filter(pk=callback.pk, state__in=OPEN_STATES).update(
            state=CallbackState.CANCELLED, completed_at=now, updated_at=now, next_attempt_at=None
        )
        if not updated:
            raise Conflict(_("This callback is already finished."), code="callback_finished")
        callback.refresh_from_db()
        record_event(
            callback.tenant_id,
            "callback.cancelled",
            conversation=callback.conversation,
            actor=member,
            data={"callback": callback.pk},
        )
    return callback
