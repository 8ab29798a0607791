"""Response-time targets: due times on every conversation, counted on the shop's business calendar,
paused while waiting on the customer, warned about and breached once."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from frontdesk.desk.actions import sla
from frontdesk.desk.actions.calendars import forget_calendars
from frontdesk.desk.actions.conversations import do_assign, do_reply, do_set_priority, do_set_status
from frontdesk.desk.actions.sla import matching_policy, sla_sweep
from frontdesk.desk.models import BusinessCalendar, Conversation, Event, SlaPolicy, Status
from frontdesk.desk.worker.runner import scheduled_jobs
from tests.factories import ChannelFactory, TagFactory, TeamFactory, receive

pytestmark = pytest.mark.django_db

CET = dt.timezone(dt.timedelta(hours=1))
CEST = dt.timezone(dt.timedelta(hours=2))
FRIDAY_EVENING = dt.datetime(2026, 11, 20, 17, 30, tzinfo=CET)
MONDAY = dt.datetime(2026, 11, 23, 9, 0, tzinfo=CET)


class Clock:
    def __init__(self) -> None:
        self.now = MONDAY


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    """The actions read timezone.now(); tests set the time the way it passes for the shop."""
    forget_calendars()
    clock = Clock()
    monkeypatch.setattr(timezone, "now", lambda: clock.now)
    yield clock
    forget_calendars()


@pytest.fixture
def channel(tenant):  # type: ignore[no-untyped-def]
    return ChannelFactory(tenant=tenant, kind="api")


def policy(tenant, **fields) -> SlaPolicy:  # type: ignore[no-untyped-def]
    fields.setdefault("name", f"Policy {SlaPolicy.objects.count()}")
    return SlaPolicy.objects.create(tenant=tenant, **fields)


def arrives(channel, clock: Clock, at: dt.datetime, text: str = "Where is my parcel?") -> Conversation:  # type: ignore[no-untyped-def]
    clock.now = at
    conversation = receive(channel, text, external_id="cust-7")
    conversation.refresh_from_db()
    return conversation


def sla_events(conversation: Conversation) -> list[tuple[str, str]]:
    return [
        (e.kind, e.data["target"])
        for e in Event.objects.filter(conversation=conversation, kind__startswith="sla.").order_by("id")
    ]


def test_a_message_on_friday_evening_with_one_business_hour_to_answer_is_due_on_monday_at_ten(
    channel, tenant, clock
):
    policy(tenant, first_response_minutes=60, resolution_minutes=8 * 60)
    conversation = arrives(channel, clock, FRIDAY_EVENING)
    assert conversation.first_response_due == dt.datetime(2026, 11, 23, 10, 0, tzinfo=CET)
    # A working day of 8 hours: Monday 09:00–17:00.
    assert conversation.resolution_due == dt.datetime(2026, 11, 23, 17, 0, tzinfo=CET)
    assert conversation.next_response_due is None


def test_polish_independence_day_is_not_counted(channel, tenant, clock):
    policy(tenant, first_response_minutes=60)
    conversation = arrives(channel, clock, dt.datetime(2026, 11, 10, 16, 30, tzinfo=CET))
    # 30 minutes on Tuesday, none on Wednesday 11 November, 30 minutes on Thursday.
    assert conversation.first_response_due == dt.datetime(2026, 11, 12, 9, 30, tzinfo=CET)


def test_the_night_summer_time_ends_gives_a_sunday_shift_its_extra_hour(channel, tenant, clock):
    sunday_only = [[]] * 6 + [[[0, 1440]]]
    BusinessCalendar.objects.create(tenant=tenant, name="Niedziela", is_default=True, week=sunday_only)
    policy(tenant, first_response_minutes=24 * 60)
    conversation = arrives(channel, clock, dt.datetime(2026, 10, 24, 23, 0, tzinfo=CEST))
    # Sunday 25 October 2026 lasts 25 hours in Warsaw: 24 business hours end at 23:00 winter time.
    assert conversation.first_response_due == dt.datetime(2026, 10, 25, 23, 0, tzinfo=CET)


def test_a_split_shift_does_not_count_the_lunch_break(channel, tenant, clock):
    split = [[[480, 720], [840, 1080]]] * 5 + [[], []]
    BusinessCalendar.objects.create(tenant=tenant, name="Dwie zmiany", is_default=True, week=split)
    policy(tenant, first_response_minutes=60)
    conversation = arrives(channel, clock, dt.datetime(2026, 11, 23, 11, 30, tzinfo=CET))
    assert conversation.first_response_due == dt.datetime(2026, 11, 23, 14, 30, tzinfo=CET)


def test_a_policy_in_calendar_hours_ignores_the_opening_hours(channel, tenant, clock):
    policy(tenant, first_response_minutes=60, business_hours=False)
    conversation = arrives(channel, clock, FRIDAY_EVENING)
    assert conversation.first_response_due == dt.datetime(2026, 11, 20, 18, 30, tzinfo=CET)


def test_the_legal_deadline_is_fourteen_calendar_days_whatever_the_calendar(channel, tenant, clock):
    policy(tenant, first_response_minutes=60, legal_days=14)
    conversation = arrives(channel, clock, FRIDAY_EVENING)
    assert conversation.legal_due == dt.datetime(2026, 12, 4, 17, 30, tzinfo=CET)


def test_a_shop_without_policies_gets_no_due_times(channel, clock):
    conversation = arrives(channel, clock, MONDAY)
    assert conversation.sla_policy is None
    assert conversation.first_response_due is None
    assert conversation.resolution_due is None
    assert conversation.legal_due is None


def policy_queries(queries: CaptureQueriesContext) -> int:
    return sum("desk_slapolicy" in q["sql"] for q in queries.captured_queries)


def test_a_shop_without_policies_pays_one_query_per_new_conversation_and_none_after(channel, agent, clock):
    with CaptureQueriesContext(connection) as first_message:
        conversation = receive(channel, "Hello", external_id="cust-7")
    with CaptureQueriesContext(connection) as later:
        do_reply(agent, conversation, "Hi!")
        receive(channel, "Thanks", external_id="cust-7")
        conversation.refresh_from_db()
        do_set_status(agent, conversation, Status.RESOLVED)
    assert policy_queries(first_message) == 1
    assert policy_queries(later) == 0


def test_waiting_on_the_customer_moves_the_resolution_due_time_by_the_business_time_paused(
    channel, tenant, agent, clock
):
    policy(tenant, first_response_minutes=60, resolution_minutes=16 * 60)
    conversation = arrives(channel, clock, MONDAY)
    assert conversation.resolution_due == dt.datetime(2026, 11, 24, 17, 0, tzinfo=CET)

    clock.now = dt.datetime(2026, 11, 23, 10, 0, tzinfo=CET)
    do_reply(agent, conversation, "Could you send the order number?")
    conversation.refresh_from_db()
    assert conversation.status == Status.PENDING
    assert conversation.sla_paused_at == clock.now

    # Paused for Monday 10:00–17:00 and Tuesday 09:00–10:00: 8 business hours.
    arrives(channel, clock, dt.datetime(2026, 11, 24, 10, 0, tzinfo=CET), "It is 1234.")
    conversation.refresh_from_db()
    assert conversation.status == Status.OPEN
    assert conversation.sla_paused_at is None
    assert conversation.resolution_due == dt.datetime(2026, 11, 25, 17, 0, tzinfo=CET)


def test_the_next_answer_is_due_when_the_customer_writes_after_the_shop_and_stops_on_the_reply(
    channel, tenant, agent, clock
):
    policy(tenant, first_response_minutes=60, next_response_minutes=120)
    conversation = arrives(channel, clock, MONDAY)
    clock.now = dt.datetime(2026, 11, 23, 9, 30, tzinfo=CET)
    do_reply(agent, conversation, "Hello!", status=Status.OPEN)
    conversation.refresh_from_db()
    assert conversation.first_response_at == clock.now
    assert conversation.next_response_due is None

    arrives(channel, clock, dt.datetime(2026, 11, 23, 16, 0, tzinfo=CET), "Any news?")
    conversation.refresh_from_db()
    assert conversation.next_response_due == dt.datetime(2026, 11, 24, 10, 0, tzinfo=CET)

    # A second message while the customer already waits does not move the clock.
    arrives(channel, clock, dt.datetime(2026, 11, 23, 16, 30, tzinfo=CET), "Hello?")
    conversation.refresh_from_db()
    assert conversation.next_response_due == dt.datetime(2026, 11, 24, 10, 0, tzinfo=CET)

    clock.now = dt.datetime(2026, 11, 23, 16, 45, tzinfo=CET)
    do_reply(agent, conversation, "It ships tomorrow.")
    conversation.refresh_from_db()
    assert conversation.next_response_due is None


def test_a_late_first_answer_records_its_breach_once(channel, tenant, agent, clock):
    policy(tenant, first_response_minutes=60)
    conversation = arrives(channel, clock, MONDAY)
    clock.now = dt.datetime(2026, 11, 23, 11, 0, tzinfo=CET)
    do_reply(agent, conversation, "Sorry for the wait.")
    conversation.refresh_from_db()
    assert sla_events(conversation) == [("sla.breached", "first_response")]
    # The due time stays, for reports: answered an hour late.
    assert conversation.first_response_due == dt.datetime(2026, 11, 23, 10, 0, tzinfo=CET)
    assert sla_sweep(now=clock.now) == 0


def test_resolving_stops_the_clocks_and_reopening_restarts_resolution_with_the_full_target(
    channel, tenant, agent, clock
):
    policy(tenant, first_response_minutes=60, resolution_minutes=4 * 60)
    conversation = arrives(channel, clock, MONDAY)
    clock.now = dt.datetime(2026, 11, 23, 9, 30, tzinfo=CET)
    do_set_status(agent, conversation, Status.RESOLVED)
    conversation.refresh_from_db()
    assert conversation.resolution_due is None

    clock.now = dt.datetime(2026, 11, 23, 15, 0, tzinfo=CET)
    do_set_status(agent, conversation, Status.OPEN)
    conversation.refresh_from_db()
    # Two business hours left on Monday, two on Tuesday morning.
    assert conversation.resolution_due == dt.datetime(2026, 11, 24, 11, 0, tzinfo=CET)


def test_an_agent_taking_a_conversation_back_from_the_customer_resumes_the_resolution_clock(
    channel, tenant, agent, clock
):
    policy(tenant, first_response_minutes=60, resolution_minutes=4 * 60)
    conversation = arrives(channel, clock, MONDAY)
    clock.now = dt.datetime(2026, 11, 23, 10, 0, tzinfo=CET)
    do_set_status(agent, conversation, Status.PENDING)
    clock.now = dt.datetime(2026, 11, 23, 12, 0, tzinfo=CET)
    do_set_status(agent, conversation, Status.ON_HOLD)
    conversation.refresh_from_db()
    assert conversation.sla_paused_at is None
    assert conversation.resolution_due == dt.datetime(2026, 11, 23, 15, 0, tzinfo=CET)


def test_a_customer_writing_to_a_resolved_conversation_restarts_its_resolution_clock(
    channel, tenant, agent, clock
):
    policy(tenant, first_response_minutes=60, next_response_minutes=60, resolution_minutes=4 * 60)
    conversation = arrives(channel, clock, MONDAY)
    clock.now = dt.datetime(2026, 11, 23, 9, 30, tzinfo=CET)
    do_reply(agent, conversation, "Done, refunded.", status=Status.RESOLVED)
    arrives(channel, clock, dt.datetime(2026, 11, 23, 14, 0, tzinfo=CET), "Not yet on my account.")
    conversation.refresh_from_db()
    assert conversation.status == Status.OPEN
    assert conversation.resolution_due == dt.datetime(2026, 11, 24, 10, 0, tzinfo=CET)
    assert conversation.next_response_due == dt.datetime(2026, 11, 23, 15, 0, tzinfo=CET)


def test_raising_the_priority_before_the_first_answer_applies_the_urgent_policy(
    channel, tenant, agent, clock
):
    policy(
        tenant, name="Urgent", position=0, conditions={"priorities": ["urgent"]}, first_response_minutes=15
    )
    policy(tenant, name="Everyone", position=1, first_response_minutes=240)
    conversation = arrives(channel, clock, MONDAY)
    assert conversation.sla_policy.name == "Everyone"

    clock.now = dt.datetime(2026, 11, 23, 9, 5, tzinfo=CET)
    do_set_priority(agent, conversation, "urgent")
    conversation.refresh_from_db()
    assert conversation.sla_policy.name == "Urgent"
    assert conversation.first_response_due == dt.datetime(2026, 11, 23, 9, 15, tzinfo=CET)


def test_a_team_with_its_own_calendar_moves_the_first_due_time(channel, tenant, agent, clock):
    evenings = BusinessCalendar.objects.create(
        tenant=tenant, name="Wieczory", week=[[[1080, 1320]]] * 7, public_holidays=False
    )
    team = TeamFactory(tenant=tenant, calendar=evenings)
    policy(tenant, first_response_minutes=60)
    conversation = arrives(channel, clock, MONDAY)
    assert conversation.first_response_due == dt.datetime(2026, 11, 23, 10, 0, tzinfo=CET)
    do_assign(agent, conversation, team=team)
    conversation.refresh_from_db()
    assert conversation.first_response_due == dt.datetime(2026, 11, 23, 19, 0, tzinfo=CET)


def test_the_sweep_records_a_warning_and_a_breach_once_even_when_run_twice(channel, tenant, clock):
    policy(tenant, first_response_minutes=60, warn_percent=80)
    conversation = arrives(channel, clock, MONDAY)

    assert sla_sweep(now=dt.datetime(2026, 11, 23, 9, 40, tzinfo=CET)) == 0
    warn_time = dt.datetime(2026, 11, 23, 9, 50, tzinfo=CET)
    assert sla_sweep(now=warn_time) == 1
    assert sla_sweep(now=warn_time) == 0
    late = dt.datetime(2026, 11, 23, 10, 5, tzinfo=CET)
    assert sla_sweep(now=late) == 1
    assert sla_sweep(now=late) == 0

    assert sla_events(conversation) == [("sla.warning", "first_response"), ("sla.breached", "first_response")]
    breach = Event.objects.get(conversation=conversation, kind="sla.breached")
    assert dt.datetime.fromisoformat(breach.data["due"]) == dt.datetime(2026, 11, 23, 10, 0, tzinfo=CET)
    conversation.refresh_from_db()
    assert sorted(conversation.sla_marks) == ["first_response:breached", "first_response:warned"]


@pytest.mark.django_db(transaction=True)
def test_two_schedulers_sweeping_at_the_same_moment_record_the_breach_once(
    channel, tenant, clock, monkeypatch
):
    policy(tenant, first_response_minutes=60)
    conversation = arrives(channel, clock, MONDAY)
    # Both sweeps list the conversation as unmarked before either records: only the row lock
    # and the second look at the marks keep the breach from being recorded twice.
    both_listed = threading.Barrier(2, timeout=10)
    record_once = sla._record_once

    def after_both_listed(*args):  # type: ignore[no-untyped-def]
        both_listed.wait()
        return record_once(*args)

    monkeypatch.setattr(sla, "_record_once", after_both_listed)
    late = dt.datetime(2026, 11, 23, 10, 5, tzinfo=CET)
    counts: list[int] = []

    def scheduler() -> None:
        try:
            counts.append(sla_sweep(now=late))
        finally:
            connection.close()

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert sorted(counts) == [0, 1]
    assert sla_events(conversation) == [("sla.breached", "first_response")]


def test_the_sweep_warns_in_business_time_not_overnight(channel, tenant, clock):
    policy(tenant, first_response_minutes=60)
    arrives(channel, clock, FRIDAY_EVENING)
    # Due Monday 10:00: at 80 % of the business hour, Monday 09:48, not during the weekend.
    assert sla_sweep(now=dt.datetime(2026, 11, 23, 9, 0, tzinfo=CET)) == 0
    assert sla_sweep(now=dt.datetime(2026, 11, 23, 9, 48, tzinfo=CET)) == 1


def test_the_sweep_leaves_conversations_waiting_on_the_customer_alone(channel, tenant, agent, clock):
    policy(tenant, first_response_minutes=60, resolution_minutes=60)
    conversation = arrives(channel, clock, MONDAY)
    clock.now = dt.datetime(2026, 11, 23, 9, 30, tzinfo=CET)
    do_reply(agent, conversation, "Which size?")
    assert sla_sweep(now=dt.datetime(2026, 11, 24, 12, 0, tzinfo=CET)) == 0
    assert sla_events(conversation) == []


def test_the_sweep_records_the_legal_deadline_even_while_waiting_on_the_customer(
    channel, tenant, agent, clock
):
    policy(tenant, first_response_minutes=60, legal_days=14)
    conversation = arrives(channel, clock, MONDAY)
    clock.now = dt.datetime(2026, 11, 23, 9, 30, tzinfo=CET)
    do_reply(agent, conversation, "We are looking into your complaint.")
    assert sla_sweep(now=dt.datetime(2026, 12, 7, 9, 1, tzinfo=CET)) == 1
    assert sla_events(conversation) == [("sla.breached", "legal")]


def test_a_due_time_set_anew_can_warn_again(channel, tenant, agent, clock):
    policy(tenant, first_response_minutes=60, next_response_minutes=60)
    conversation = arrives(channel, clock, MONDAY)
    clock.now = dt.datetime(2026, 11, 23, 9, 10, tzinfo=CET)
    do_reply(agent, conversation, "Hello!", status=Status.OPEN)
    arrives(channel, clock, dt.datetime(2026, 11, 23, 10, 0, tzinfo=CET), "And?")
    assert sla_sweep(now=dt.datetime(2026, 11, 23, 10, 50, tzinfo=CET)) == 1
    clock.now = dt.datetime(2026, 11, 23, 10, 55, tzinfo=CET)
    conversation.refresh_from_db()
    do_reply(agent, conversation, "Soon.", status=Status.OPEN)
    arrives(channel, clock, dt.datetime(2026, 11, 23, 12, 0, tzinfo=CET), "How soon?")
    assert sla_sweep(now=dt.datetime(2026, 11, 23, 12, 50, tzinfo=CET)) == 1
    assert sla_events(conversation) == [("sla.warning", "next_response"), ("sla.warning", "next_response")]


def test_policies_match_by_channel_kind_priority_tag_and_customer_attribute(channel, tenant, clock):
    conversation = arrives(channel, clock, MONDAY)
    policy(tenant, position=0, conditions={"channel_kinds": ["email"]})
    assert matching_policy(conversation) is None

    api = policy(tenant, position=1, conditions={"channel_kinds": ["api"], "priorities": ["high"]})
    assert matching_policy(conversation) is None
    conversation.priority = "high"
    assert matching_policy(conversation) == api

    vip = policy(tenant, position=0, conditions={"customer_attributes": {"segment": "vip"}})
    assert matching_policy(conversation) == api
    conversation.customer.attributes = {"segment": "vip"}
    conversation.customer.save(update_fields=["attributes"])
    assert matching_policy(conversation) == vip

    tagged = policy(tenant, position=0, conditions={"tags": ["reklamacja"]})
    conversation.tags.add(TagFactory(tenant=tenant, name="reklamacja"))
    # Same position: the older policy comes first.
    assert matching_policy(conversation) == vip
    SlaPolicy.objects.filter(pk=vip.pk).update(enabled=False)
    assert matching_policy(conversation) == tagged


def test_a_disabled_policy_is_ignored(channel, tenant, clock):
    policy(tenant, position=0, enabled=False, first_response_minutes=5)
    everyone = policy(tenant, position=1, first_response_minutes=60)
    conversation = arrives(channel, clock, MONDAY)
    assert conversation.sla_policy == everyone
    assert conversation.first_response_due == dt.datetime(2026, 11, 23, 10, 0, tzinfo=CET)


def test_a_shop_that_is_never_open_still_gets_due_times_in_calendar_time(channel, tenant, clock):
    BusinessCalendar.objects.create(tenant=tenant, name="Nigdy", is_default=True, week=[[]] * 7)
    policy(tenant, first_response_minutes=60)
    conversation = arrives(channel, clock, MONDAY)
    assert conversation.first_response_due == dt.datetime(2026, 11, 23, 10, 0, tzinfo=CET)


def test_the_scheduler_sweeps_every_thirty_seconds():
    jobs = {job.name: job for job in scheduled_jobs()}
    assert jobs["sla_sweep"].every == 30
    assert jobs["sla_sweep"].func is sla_sweep
