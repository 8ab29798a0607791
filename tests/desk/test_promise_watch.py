"""A promise about to break is revised once, before it passes: the customer hears the new time in
their language, supervisors get "promise.at_risk", and both promises stay recorded."""

from __future__ import annotations

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone

from frontdesk.desk.actions import promise_watch
from frontdesk.desk.actions.calendars import forget_calendars
from frontdesk.desk.actions.conversations import do_reply
from frontdesk.desk.actions.promise_watch import promise_sweep
from frontdesk.desk.models import (
    AuthorKind,
    Conversation,
    CustomerIdentity,
    Delivery,
    Event,
    Message,
    Tenant,
)
from frontdesk.desk.worker.runner import scheduled_jobs
from tests.factories import ChannelFactory, receive

pytestmark = pytest.mark.django_db

WARSAW = ZoneInfo("Europe/Warsaw")
# A Tuesday; the built-in calendar is open Monday–Friday 09:00–17:00 in the shop's zone (Warsaw).
ARRIVED = dt.datetime(2026, 11, 24, 10, 0, tzinfo=WARSAW)
PROMISED = dt.datetime(2026, 11, 24, 13, 0, tzinfo=WARSAW)


@pytest.fixture(autouse=True)
def _fresh_calendars():  # type: ignore[no-untyped-def]
    forget_calendars()
    yield
    forget_calendars()


@pytest.fixture
def channel(tenant):  # type: ignore[no-untyped-def]
    return ChannelFactory(tenant=tenant, kind="api")


def promised(
    channel, n: int = 0, *, language: str = "pl", promised_by: dt.datetime = PROMISED
) -> Conversation:  # type: ignore[no-untyped-def]
    """A conversation that arrived at 10:00 and was promised an answer by 13:00."""
    conversation = receive(
        channel, f"Question {n}", email=f"c{n}@example.org", external_id=f"cust-{n}", language=language
    )
    Conversation.objects.filter(pk=conversation.pk).update(
        created_at=ARRIVED, promised_by=promised_by, promise_sent_at=ARRIVED
    )
    conversation.refresh_from_db()
    return conversation


def queue_grows(channel, count: int) -> None:  # type: ignore[no-untyped-def]
    """Unanswered conversations that came ahead after the promise was made (moved in from another
    team, reopened): they arrived earlier than the promised one."""
    for n in range(count):
        ahead = receive(channel, f"Earlier {n}", email=f"e{n}@example.org", external_id=f"early-{n}")
        Conversation.objects.filter(pk=ahead.pk).update(created_at=ARRIVED - dt.timedelta(minutes=30 - n))


def customer_messages_on(tenant: Tenant) -> None:
    """Test shops start with customer messages off (tests/factories.py); a real shop has them on."""
    tenant.service = {}
    tenant.save(update_fields=["service"])


def told(conversation: Conversation) -> list[str]:
    return list(
        Message.objects.filter(conversation=conversation, author_kind=AuthorKind.SYSTEM).values_list(
            "text", flat=True
        )
    )


def events(conversation: Conversation) -> list[str]:
    return list(
        Event.objects.filter(conversation=conversation, kind__startswith="promise.")
        .order_by("id")
        .values_list("kind", flat=True)
    )


def test_a_promise_the_grown_queue_cannot_keep_is_revised_once_and_the_customer_told_once(channel, tenant):
    conversation = promised(channel)
    queue_grows(channel, 4)
    customer_messages_on(tenant)
    now = dt.datetime(2026, 11, 24, 12, 40, tzinfo=WARSAW)

    assert promise_sweep(now=now) == 1
    assert promise_sweep(now=now + dt.timedelta(minutes=1)) == 0

    conversation.refresh_from_db()
    # 4 ahead at the minimum pace of 2 an hour, +15 min handling, +25 %: 2 h 48 min 45 s from
    # 12:40 → 15:28:45, rounded up to 15:30.
    new_time = dt.datetime(2026, 11, 24, 15, 30, tzinfo=WARSAW)
    assert conversation.promised_by == new_time
    assert conversation.promise_original == PROMISED
    assert conversation.promise_revised_at == now
    [text] = told(conversation)
    assert text.startswith(
        f"Przepraszamy, potrzebujemy więcej czasu, niż obiecaliśmy (numer sprawy #{conversation.number}). "
        "Nasz zespół odpowie dziś do 15:30. Szczegóły: "
    )
    message = Message.objects.get(conversation=conversation, author_kind=AuthorKind.SYSTEM)
    assert Delivery.objects.get(message=message).recipient == "cust-0"
    assert events(conversation) == ["promise.at_risk", "promise.revised"]
    revised = Event.objects.get(conversation=conversation, kind="promise.revised")
    assert dt.datetime.fromisoformat(revised.data["from"]) == PROMISED
    assert dt.datetime.fromisoformat(revised.data["to"]) == new_time
    assert revised.data["why"]["queue_ahead"] == 4
    assert revised.data["why"]["reason"] == "queue_estimate"
    assert revised.data["message"] == message.pk


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", "We are sorry: we need more time than we said (reference #{number}). "
               "Our team will answer tomorrow, Wednesday, by 09:45. Details: "),
        ("pl", "Przepraszamy, potrzebujemy więcej czasu, niż obiecaliśmy (numer sprawy #{number}). "
               "Nasz zespół odpowie jutro, środa, do 09:45. Szczegóły: "),
        ("ru", "Приносим извинения: нам нужно больше времени, чем мы обещали (номер обращения #{number}). "
               "Наша команда ответит завтра (среда) до 09:45. Подробности: "),
    ],
)  # fmt: skip
def test_the_customer_hears_the_new_time_in_their_own_language(channel, tenant, language, words):
    conversation = promised(
        channel, language=language, promised_by=dt.datetime(2026, 11, 24, 17, 0, tzinfo=WARSAW)
    )
    queue_grows(channel, 1)
    customer_messages_on(tenant)
    # 16:40: one ahead (30 min) + 15 min handling, +25 % = 56 min 15 s of business time: 20 minutes
    # today, the rest from Wednesday 09:00 → 09:36:15, rounded up to 09:45.
    assert promise_sweep(now=dt.datetime(2026, 11, 24, 16, 40, tzinfo=WARSAW)) == 1
    conversation.refresh_from_db()
    [text] = told(conversation)
    assert text.startswith(words.format(number=conversation.number))


def test_a_promise_the_queue_can_still_keep_is_left_alone(channel, tenant):
    conversation = promised(channel)
    customer_messages_on(tenant)
    # Nobody ahead: 15 min handling +25 % from 12:40 ends 12:58:45, before 13:00.
    assert promise_sweep(now=dt.datetime(2026, 11, 24, 12, 40, tzinfo=WARSAW)) == 0
    conversation.refresh_from_db()
    assert conversation.promised_by == PROMISED
    assert conversation.promise_original is None
    assert told(conversation) == [] and events(conversation) == []


def test_with_nobody_ahead_a_promise_is_not_called_at_risk_before_it_passes(channel, tenant):
    conversation = promised(channel)
    customer_messages_on(tenant)
    # 12:50: its own 15 min of handling +25 % would end 13:08:45, after 13:00 — but nobody is
    # ahead, so an agent may answer any moment: no "we need more time" yet.
    assert promise_sweep(now=dt.datetime(2026, 11, 24, 12, 50, tzinfo=WARSAW)) == 0
    conversation.refresh_from_db()
    assert conversation.promised_by == PROMISED and told(conversation) == []


def test_an_answered_conversation_is_left_alone_even_after_its_promise(channel, tenant, agent):
    conversation = promised(channel)
    queue_grows(channel, 4)
    customer_messages_on(tenant)
    do_reply(agent, conversation, "Your parcel left today.")
    assert promise_sweep(now=dt.datetime(2026, 11, 24, 13, 30, tzinfo=WARSAW)) == 0
    assert events(conversation) == []


def test_a_promise_already_past_is_revised_and_the_answer_is_measured_against_the_new_one(
    channel, tenant, agent, monkeypatch
):
    conversation = promised(channel)
    customer_messages_on(tenant)
    now = dt.datetime(2026, 11, 24, 13, 5, tzinfo=WARSAW)
    assert promise_sweep(now=now) == 1
    conversation.refresh_from_db()
    # Nobody ahead: 18 min 45 s from 13:05, rounded up to 13:30.
    assert conversation.promised_by == dt.datetime(2026, 11, 24, 13, 30, tzinfo=WARSAW)
    assert conversation.promise_original == PROMISED
    assert Event.objects.get(conversation=conversation, kind="promise.at_risk").data["past_due"] is True
    assert len(told(conversation)) == 1

    # Answered at 13:20: late for the first promise, in time for the one the customer last heard.
    monkeypatch.setattr(timezone, "now", lambda: dt.datetime(2026, 11, 24, 13, 20, tzinfo=WARSAW))
    do_reply(agent, conversation, "Here you are.")
    conversation.refresh_from_db()
    assert conversation.promise_kept is True


def test_a_promise_broken_days_ago_is_left_to_people(channel, tenant):
    conversation = promised(channel)
    customer_messages_on(tenant)
    assert promise_sweep(now=PROMISED + promise_watch.LOOKBACK + dt.timedelta(minutes=1)) == 0
    assert events(conversation) == []


def test_a_blocked_customer_is_not_written_to_but_the_times_are_revised(channel, tenant):
    conversation = promised(channel)
    customer_messages_on(tenant)
    conversation.customer.blocked = True
    conversation.customer.save(update_fields=["blocked"])
    assert promise_sweep(now=dt.datetime(2026, 11, 24, 13, 5, tzinfo=WARSAW)) == 1
    conversation.refresh_from_db()
    assert conversation.promise_original == PROMISED
    assert conversation.promised_by == dt.datetime(2026, 11, 24, 13, 30, tzinfo=WARSAW)
    assert told(conversation) == []
    assert events(conversation) == ["promise.at_risk", "promise.revised"]
    assert Event.objects.get(conversation=conversation, kind="promise.revised").data["message"] is None


def test_a_shop_with_customer_messages_off_sends_no_revision_but_records_it(channel, tenant):
    conversation = promised(channel)
    assert tenant.service == {"acknowledge": False}
    assert promise_sweep(now=dt.datetime(2026, 11, 24, 13, 5, tzinfo=WARSAW)) == 1
    conversation.refresh_from_db()
    assert conversation.promise_revised_at is not None
    assert told(conversation) == []
    assert events(conversation) == ["promise.at_risk", "promise.revised"]


def test_a_live_chat_an_agent_has_gets_no_message_the_agent_is_there(channel, tenant, agent):
    chat = ChannelFactory(tenant=tenant, kind="chat")
    taken, waiting = promised(channel, 1), promised(channel, 2)
    for conversation in (taken, waiting):
        CustomerIdentity.objects.create(
            tenant=tenant,
            customer=conversation.customer,
            kind="visitor",
            address=f"visitor-{conversation.pk}",
        )
    Conversation.objects.filter(pk=taken.pk).update(channel=chat, assignee=agent)
    Conversation.objects.filter(pk=waiting.pk).update(channel=chat)
    customer_messages_on(tenant)
    assert promise_sweep(now=dt.datetime(2026, 11, 24, 13, 5, tzinfo=WARSAW)) == 2
    assert told(taken) == []
    assert len(told(waiting)) == 1


def test_the_scheduler_runs_the_sweep_every_minute():
    [job] = [job for job in scheduled_jobs() if job.name == "promise_sweep"]
    assert job.every == 60
    assert job.func is promise_sweep


@pytest.mark.django_db(transaction=True)
def test_two_schedulers_sweeping_at_the_same_moment_revise_the_promise_once(channel, tenant, monkeypatch):
    conversation = promised(channel)
    customer_messages_on(tenant)
    # Both sweeps find the promise at risk before either revises: only the row lock and the second
    # look at promise_revised_at keep the customer from being told twice.
    both_listed = threading.Barrier(2, timeout=10)
    revise_once = promise_watch._revise_once

    def after_both_listed(*args):  # type: ignore[no-untyped-def]
        both_listed.wait()
        return revise_once(*args)

    monkeypatch.setattr(promise_watch, "_revise_once", after_both_listed)
    now = dt.datetime(2026, 11, 24, 13, 5, tzinfo=WARSAW)
    counts: list[int] = []

    def scheduler() -> None:
        try:
            counts.append(promise_sweep(now=now))
        finally:
            connection.close()

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert sorted(counts) == [0, 1]
    assert len(told(conversation)) == 1
    assert events(conversation) == ["promise.at_risk", "promise.revised"]
