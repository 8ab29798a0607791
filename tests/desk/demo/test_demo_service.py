"""The demo shop shows the service promise: hours, targets, promises kept and broken, callbacks."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from frontdesk.desk.actions.sla import running_clock
from frontdesk.desk.models import (
    AuthorKind,
    BusinessCalendar,
    Callback,
    CallbackState,
    Conversation,
    Direction,
    Message,
    SlaPolicy,
    Status,
    Tenant,
)
from frontdesk.desk.models.conversations import ACTIVE_STATUSES

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(db) -> Tenant:  # type: ignore[no-untyped-def]
    call_command("demo", conversations=60, seed=7, stdout=io.StringIO())
    return Tenant.objects.get(slug="rowerownia")


def test_the_shop_has_its_hours_with_a_closure_and_a_special_day(shop):
    calendar = BusinessCalendar.objects.get(tenant=shop, is_default=True)

    assert (calendar.time_zone, calendar.country, calendar.public_holidays) == ("Europe/Warsaw", "PL", True)
    assert calendar.week[0] == [[480, 1080]] and calendar.week[5] == [[540, 840]] and calendar.week[6] == []
    assert sorted(bool(day.hours) for day in calendar.days.all()) == [False, True]
    assert all(day.date > timezone.localdate() for day in calendar.days.all())


def test_the_shop_has_its_response_time_targets(shop):
    policies = list(SlaPolicy.objects.filter(tenant=shop).values_list("name", "legal_days"))

    assert policies == [("Czat", None), ("Reklamacje", 14), ("Standard", None)]
    assert Conversation.objects.filter(
        tenant=shop, sla_policy__name="Reklamacje", legal_due__isnull=False
    ).exists()


def test_due_times_follow_the_rewritten_history(shop):
    now = timezone.now()
    conversations = Conversation.objects.filter(tenant=shop, merged_into=None)
    # The badge agents see on open conversations: the most pressing clock still running.
    clocks = [running_clock(c) for c in conversations.filter(status__in=ACTIVE_STATUSES)]
    dues = [clock[1] for clock in clocks if clock is not None]

    assert all(c.first_response_due > c.created_at for c in conversations)
    assert any(due < now for due in dues)
    assert any(due >= now for due in dues)
    answered = conversations.exclude(first_response_at=None)
    assert answered.filter(first_response_at__lte=models_f("first_response_due")).exists()
    assert answered.filter(first_response_at__gt=models_f("first_response_due")).exists()


def models_f(name: str):  # type: ignore[no-untyped-def]
    from django.db.models import F

    return F(name)


def test_acknowledgements_follow_the_first_message_and_promises_are_measured(shop):
    acks = Message.objects.filter(tenant=shop, direction=Direction.OUT, author_kind=AuthorKind.SYSTEM)

    assert acks.exists()
    for ack in acks.select_related("conversation"):
        conversation = ack.conversation
        inbound = conversation.messages.filter(direction=Direction.IN).order_by("created_at")
        # Each follows a customer's message within a minute: the conversation's first, or (for a
        # duplicate the demo merged into this one, depending on today's date) the duplicate's.
        assert any(
            m.created_at < ack.created_at <= m.created_at + timezone.timedelta(minutes=1) for m in inbound
        )
        first = inbound.first()
        if ack.created_at <= first.created_at + timezone.timedelta(minutes=1):
            assert conversation.promise_sent_at == ack.created_at
            assert conversation.promised_by > ack.created_at
    promised = Conversation.objects.filter(tenant=shop, promised_by__isnull=False)
    for conversation in promised.exclude(first_response_at=None):
        assert conversation.promise_kept == (conversation.first_response_at <= conversation.promised_by)
    assert set(promised.exclude(first_response_at=None).values_list("promise_kept", flat=True)) == {
        True,
        False,
    }
    assert not promised.filter(first_response_at=None, promise_kept__isnull=False).exists()


def test_callbacks_are_shown_in_each_state(shop):
    now = timezone.now()
    callbacks = {c.state: c for c in Callback.objects.filter(tenant=shop)}

    assert set(callbacks) == {
        CallbackState.DUE,
        CallbackState.SCHEDULED,
        CallbackState.DONE,
        CallbackState.FAILED,
    }
    assert callbacks[CallbackState.DUE].window_start <= now < callbacks[CallbackState.DUE].window_end
    assert callbacks[CallbackState.SCHEDULED].window_start > now
    assert list(callbacks[CallbackState.DONE].attempt_log.values_list("outcome", flat=True)) == ["reached"]
    failed = callbacks[CallbackState.FAILED]
    assert set(failed.attempt_log.values_list("outcome", flat=True)) == {"no_answer"}
    assert failed.attempts == failed.attempt_log.count() and failed.window_end < now
    assert all(c.conversation.status in (*ACTIVE_STATUSES, Status.PENDING) for c in callbacks.values())
    assert all(c.conversation.created_at < c.window_start for c in callbacks.values())


def test_the_same_seed_gives_the_same_promises(db):
    def snapshot() -> list[tuple[object, ...]]:
        return list(
            Conversation.objects.order_by("number").values_list("number", "sla_policy__name", "promise_kept")
        ) + list(Callback.objects.order_by("state").values_list("state", "conversation__number"))

    call_command("demo", conversations=20, seed=5, stdout=io.StringIO())
    first = snapshot()
    call_command("demo", "--reset", conversations=20, seed=5, stdout=io.StringIO())

    assert snapshot() == first
