"""The "answer by" promise: never earlier than the shop can keep, on the shop's business calendar,
later when the queue is long, and explained."""

from __future__ import annotations

import datetime as dt

import pytest

from frontdesk.desk.actions.calendars import forget_calendars
from frontdesk.desk.actions.promise import compute_promise
from frontdesk.desk.models import BusinessCalendar, Conversation
from tests.factories import ChannelFactory, receive

pytestmark = pytest.mark.django_db

CET = dt.timezone(dt.timedelta(hours=1))


@pytest.fixture(autouse=True)
def _fresh_calendars():  # type: ignore[no-untyped-def]
    forget_calendars()
    yield
    forget_calendars()


@pytest.fixture
def channel(tenant):  # type: ignore[no-untyped-def]
    return ChannelFactory(tenant=tenant, kind="api")


def arrived(channel, at: dt.datetime, n: int = 0) -> Conversation:  # type: ignore[no-untyped-def]
    conversation = receive(channel, f"Question {n}", email=f"c{n}@example.org")
    Conversation.objects.filter(pk=conversation.pk).update(created_at=at)
    conversation.refresh_from_db()
    return conversation


def test_a_message_on_friday_evening_is_promised_for_monday_morning(channel):
    friday_evening = dt.datetime(2026, 11, 20, 19, 0, tzinfo=CET)
    conversation = arrived(channel, friday_evening)
    promise = compute_promise(conversation, now=friday_evening)
    # The shop's 3 business hours from Monday 09:00 (built-in calendar: Mon–Fri 9–17).
    assert promise.promised_by == dt.datetime(2026, 11, 23, 12, 0, tzinfo=CET)
    assert promise.why["by"] == "target"


def test_polish_independence_day_is_not_a_working_day(channel):
    evening_before = dt.datetime(2026, 11, 10, 18, 0, tzinfo=CET)
    conversation = arrived(channel, evening_before)
    promise = compute_promise(conversation, now=evening_before)
    assert promise.promised_by == dt.datetime(2026, 11, 12, 12, 0, tzinfo=CET)


def test_a_long_queue_makes_the_promise_later_than_the_target_and_says_so(channel, tenant):
    monday = dt.datetime(2026, 11, 23, 9, 0, tzinfo=CET)
    for n in range(30):
        arrived(channel, monday - dt.timedelta(minutes=30 - n), n)
    conversation = arrived(channel, monday, 99)
    promise = compute_promise(conversation, now=monday)
    assert promise.why["queue_ahead"] == 30
    assert promise.why["by"] == "queue"
    # 30 ahead at the minimum pace of 2 an hour, +15 min handling, +25 %: 19 h 04 min of business
    # time = Monday 9:00 + 2 days 3 h 04 min of 8-hour days → Wednesday 12:04, rounded up to 12:15.
    assert promise.promised_by == dt.datetime(2026, 11, 25, 12, 15, tzinfo=CET)


def test_an_sla_due_time_is_the_promise_when_the_queue_can_keep_it(channel):
    monday = dt.datetime(2026, 11, 23, 10, 0, tzinfo=CET)
    conversation = arrived(channel, monday)
    Conversation.objects.filter(pk=conversation.pk).update(
        first_response_due=dt.datetime(2026, 11, 23, 11, 0, tzinfo=CET)
    )
    conversation.refresh_from_db()
    promise = compute_promise(conversation, now=monday)
    assert promise.promised_by == dt.datetime(2026, 11, 23, 11, 0, tzinfo=CET)
    assert promise.why["target_from"] == "sla"


def test_the_promise_is_rounded_up_on_the_shops_clock(channel, tenant):
    tenant.service = {"promise_minutes": 50}
    tenant.save(update_fields=["service"])
    monday = dt.datetime(2026, 11, 23, 10, 7, tzinfo=CET)
    conversation = arrived(channel, monday)
    conversation.tenant.refresh_from_db()
    promise = compute_promise(conversation, now=monday)
    assert promise.promised_by == dt.datetime(2026, 11, 23, 11, 0, tzinfo=CET)


def test_a_shop_that_is_never_open_still_gets_a_promise_in_calendar_time(channel, tenant):
    BusinessCalendar.objects.create(tenant=tenant, name="Nigdy", is_default=True, week=[[]] * 7)
    monday = dt.datetime(2026, 11, 23, 10, 0, tzinfo=CET)
    conversation = arrived(channel, monday)
    promise = compute_promise(conversation, now=monday)
    assert promise.promised_by == dt.datetime(2026, 11, 23, 13, 0, tzinfo=CET)


def test_conversations_in_another_language_do_not_count_as_ahead(channel):
    monday = dt.datetime(2026, 11, 23, 9, 0, tzinfo=CET)
    for n in range(5):
        ahead = arrived(channel, monday - dt.timedelta(minutes=10 - n), n)
        Conversation.objects.filter(pk=ahead.pk).update(language="de" if n < 3 else "pl")
    conversation = arrived(channel, monday, 99)
    Conversation.objects.filter(pk=conversation.pk).update(language="pl")
    conversation.refresh_from_db()
    assert compute_promise(conversation, now=monday).why["queue_ahead"] == 2


def test_agents_going_offline_slow_the_queue_and_make_the_promise_later(channel, tenant):
    from frontdesk.desk.models import Availability, Membership
    from tests.factories import MembershipFactory

    monday = dt.datetime(2026, 11, 23, 10, 0, tzinfo=CET)
    agents = [MembershipFactory(tenant=tenant, availability=Availability.ONLINE) for _ in range(4)]
    # Over the last two weeks the four of them answered 320 first messages (~4.4 an open hour).
    answered = [arrived(channel, monday - dt.timedelta(days=3), n) for n in range(320)]
    for n, conversation in enumerate(answered):
        Conversation.objects.filter(pk=conversation.pk).update(
            assignee=agents[n % 4], first_response_at=monday - dt.timedelta(days=2), status="resolved"
        )
    for n in range(16):
        arrived(channel, monday - dt.timedelta(minutes=30 - n), 1000 + n)
    conversation = arrived(channel, monday, 9999)

    everyone = compute_promise(conversation, now=monday)
    Membership.objects.filter(pk__in=[a.pk for a in agents[1:]]).update(availability=Availability.OFFLINE)
    one_left = compute_promise(conversation, now=monday)

    assert (everyone.why["agents_online"], everyone.why["agents_usual"]) == (4, 4)
    assert (one_left.why["agents_online"], one_left.why["agents_usual"]) == (1, 4)
    assert everyone.why["pace_per_hour"] == everyone.why["pace_measured"] > 4
    # A quarter of the usual agents: a quarter of the pace (never below the floor of 2 an hour).
    assert one_left.why["pace_per_hour"] == max(2.0, round(everyone.why["pace_measured"] / 4, 2))
    assert dt.datetime.fromisoformat(one_left.why["queue_estimate"]) > dt.datetime.fromisoformat(
        everyone.why["queue_estimate"]
    )
