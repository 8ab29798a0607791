"""The callback queue: a call the customer asked for becomes due in its window, an agent logs each
try, and a customer we could not reach is offered another way, in their language, once."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings

from frontdesk.desk.actions.callbacks import (
    callbacks_due,
    do_cancel_callback,
    do_log_call,
)
from frontdesk.desk.actions.status import conversation_for_token
from frontdesk.desk.errors import Conflict, NotFound
from frontdesk.desk.models import (
    AuthorKind,
    Callback,
    CallbackAttempt,
    CallbackState,
    Conversation,
    Delivery,
    Event,
    Message,
)
from frontdesk.desk.worker.runner import scheduled_jobs
from tests.factories import ChannelFactory, receive

pytestmark = pytest.mark.django_db

WARSAW = ZoneInfo("Europe/Warsaw")
# The customer's window: Monday 10:00–12:00 in Warsaw.
START = dt.datetime(2026, 11, 23, 10, 0, tzinfo=WARSAW)
END = dt.datetime(2026, 11, 23, 12, 0, tzinfo=WARSAW)


def callback_for(conversation: Conversation, state: str = CallbackState.SCHEDULED) -> Callback:
    return Callback.objects.create(
        tenant_id=conversation.tenant_id,
        conversation=conversation,
        phone="+48601234567",
        window_start=START,
        window_end=END,
        due_at=START,
        state=state,
    )


@pytest.fixture
def conversation(api_channel) -> Conversation:  # type: ignore[no-untyped-def]
    return receive(api_channel, "Proszę o telefon", external_id="cust-1", language="pl")


def offers(conversation: Conversation):  # type: ignore[no-untyped-def]
    return Message.objects.filter(
        conversation=conversation, author_kind=AuthorKind.SYSTEM, text__contains="+48601234567"
    )


def test_a_callback_becomes_due_when_its_window_starts(conversation):
    callback = callback_for(conversation)

    assert callbacks_due(now=START - dt.timedelta(minutes=1)) == 0
    assert callbacks_due(now=START) == 1

    callback.refresh_from_db()
    assert callback.state == CallbackState.DUE
    due = Event.objects.get(kind="callback.due")
    assert (due.conversation_id, due.data["callback"]) == (conversation.pk, callback.pk)


def test_the_sweep_run_twice_makes_each_change_once(conversation):
    starting = callback_for(conversation)
    ending = callback_for(conversation, state=CallbackState.DUE)
    Callback.objects.filter(pk=ending.pk).update(
        window_start=START - dt.timedelta(hours=3), window_end=START - dt.timedelta(hours=1)
    )

    assert callbacks_due(now=START) == 2
    assert callbacks_due(now=START) == 0

    assert Callback.objects.get(pk=starting.pk).state == CallbackState.DUE
    assert Callback.objects.get(pk=ending.pk).state == CallbackState.FAILED
    assert Event.objects.filter(kind="callback.due").count() == 1
    assert Event.objects.filter(kind="callback.failed").count() == 1
    assert offers(conversation).count() == 1


def test_reaching_the_customer_finishes_the_callback_and_counts_as_the_first_answer(conversation, agent):
    Conversation.objects.filter(pk=conversation.pk).update(
        promised_by=START + dt.timedelta(hours=1), first_response_at=None
    )
    callback = callback_for(conversation, state=CallbackState.DUE)
    at = START + dt.timedelta(minutes=5)

    do_log_call(agent, callback, "reached", "  Explained the delivery.  ", now=at)

    callback.refresh_from_db()
    assert (callback.state, callback.completed_at, callback.attempts) == (CallbackState.DONE, at, 1)
    attempt = CallbackAttempt.objects.get(callback=callback)
    assert (attempt.member, attempt.outcome, attempt.note) == (agent, "reached", "Explained the delivery.")
    conversation.refresh_from_db()
    assert (conversation.first_response_at, conversation.promise_kept) == (at, True)
    assert Event.objects.filter(kind="callback.attempted", data__outcome="reached").count() == 1
    assert not offers(conversation).exists()


def test_no_answer_is_tried_again_thirty_minutes_later_within_the_window(conversation, agent):
    callback = callback_for(conversation, state=CallbackState.DUE)
    at = START + dt.timedelta(minutes=10)

    do_log_call(agent, callback, "no_answer", "", now=at)

    callback.refresh_from_db()
    assert callback.state == CallbackState.DUE
    assert callback.next_attempt_at == at + dt.timedelta(minutes=30)
    assert callback.attempts == 1
    assert not offers(conversation).exists()
    conversation.refresh_from_db()
    assert conversation.first_response_at is None


def test_no_answer_near_the_windows_end_fails_and_offers_another_way_in_polish(conversation, agent):
    callback = callback_for(conversation, state=CallbackState.DUE)

    do_log_call(agent, callback, "busy", "", now=END - dt.timedelta(minutes=20))

    callback.refresh_from_db()
    assert callback.state == CallbackState.FAILED
    offer = offers(conversation).get()
    text, link = offer.text.rsplit(" ", 1)
    assert text == (
        "Próbowaliśmy zadzwonić pod numer +48601234567 w godzinach 23.11 10:00–12:00, tak jak "
        f"prosiłeś(-aś), ale nie udało się połączyć (numer sprawy #{conversation.number}). "
        "Wybierz inny sposób lub inny termin odpowiedzi:"
    )
    assert link.startswith(f"{settings.FRONTDESK_BASE_URL}/s/")
    assert conversation_for_token(link.removesuffix("/").rsplit("/", 1)[1]) == conversation
    assert Delivery.objects.get(message=offer).recipient == "cust-1"
    assert Event.objects.get(kind="callback.failed").data["reason"] == "no_time_left"


def test_a_wrong_number_fails_at_once_and_the_customer_hears_about_the_number(api_channel, agent):
    conversation = receive(
        api_channel, "Call me", external_id="cust-2", email="ann@example.org", language="en"
    )
    callback = callback_for(conversation, state=CallbackState.DUE)

    do_log_call(agent, callback, "wrong_number", "A bakery answered.", now=START + dt.timedelta(minutes=1))

    callback.refresh_from_db()
    assert callback.state == CallbackState.FAILED
    assert (
        offers(conversation)
        .get()
        .text.startswith("We called +48601234567 as you asked, but it seems to be the wrong number")
    )
    assert callbacks_due(now=END) == 0  # already failed: nothing more to tell


def test_a_window_ending_unreached_fails_the_callback_and_tells_the_customer_in_russian(api_channel, agent):
    conversation = receive(
        api_channel, "Позвоните", external_id="cust-3", email="ivan@example.org", language="ru"
    )
    callback = callback_for(conversation)
    callbacks_due(now=START)
    do_log_call(agent, callback, "no_answer", "", now=START)

    assert callbacks_due(now=END) == 1

    callback.refresh_from_db()
    assert (callback.state, callback.attempts) == (CallbackState.FAILED, 1)
    assert offers(conversation).get().text.startswith("Мы пытались позвонить вам по номеру +48601234567")


def test_another_shops_member_cannot_log_or_cancel(conversation, outsider):
    callback = callback_for(conversation, state=CallbackState.DUE)

    with pytest.raises(NotFound):
        do_log_call(outsider, callback, "reached", "")
    with pytest.raises(NotFound):
        do_cancel_callback(outsider, callback)

    callback.refresh_from_db()
    assert (callback.state, callback.attempts) == (CallbackState.DUE, 0)
    assert not CallbackAttempt.objects.exists()


def test_a_cancelled_callback_takes_no_more_calls(conversation, agent):
    callback = callback_for(conversation)

    do_cancel_callback(agent, callback)

    callback.refresh_from_db()
    assert callback.state == CallbackState.CANCELLED
    assert callbacks_due(now=START) == 0
    with pytest.raises(Conflict):
        do_log_call(agent, callback, "reached", "")
    assert Event.objects.filter(kind="callback.cancelled").count() == 1


def test_a_customer_whose_reply_channel_cannot_send_is_told_by_email(api_channel, tenant, agent):
    conversation = receive(
        api_channel, "Call me", external_id="cust-4", email="ola@example.org", language="en"
    )
    mailbox = ChannelFactory(tenant=tenant, kind="email", name="Support mailbox")
    api_channel.disabled = True
    api_channel.save(update_fields=["disabled"])
    callback = callback_for(Conversation.objects.get(pk=conversation.pk), state=CallbackState.DUE)

    do_log_call(agent, callback, "no_answer", "", now=END - dt.timedelta(minutes=5))

    offer = offers(conversation).get()
    assert offer.channel == mailbox
    assert Delivery.objects.get(message=offer).recipient == "ola@example.org"
    assert "could not reach you" in offer.text


def test_the_scheduler_looks_for_due_callbacks_every_thirty_seconds():
    jobs = {job.name: job for job in scheduled_jobs()}
    assert jobs["callbacks_due"].every == 30
    assert jobs["callbacks_due"].func is callbacks_due
