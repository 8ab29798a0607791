"""The queue order: the pure scoring first, then the order read off real conversations."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping

import pytest
from django.utils import translation

from frontdesk.desk.actions.queue import DEFAULT_WEIGHTS, Call, Facts, explain, ranked_queue, score
from frontdesk.desk.models import Callback, CallbackState, Conversation, Membership, Tag
from tests.factories import ChannelFactory, receive

NOW = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC)  # a Tuesday, 11:00 in Warsaw


@pytest.fixture(autouse=True)
def _in_english() -> Iterator[None]:
    """The labels are compared as English text, whatever language an earlier test left active."""
    with translation.override("en"):
        yield


def facts(**changes: object) -> Facts:
    base: dict[str, object] = {
        "priority": "normal",
        "channel_kind": "email",
        "due": None,
        "waiting_since": NOW - dt.timedelta(minutes=30),
        "arrived_at": NOW - dt.timedelta(minutes=30),
    }
    base.update(changes)
    return Facts(**base)  # type: ignore[arg-type]


def in_order(*items: Facts, weights: Mapping[str, object] | None = None) -> list[int]:
    """The positions of `items` sorted as the queue sorts them."""
    w = {**DEFAULT_WEIGHTS, **(weights or {})}
    scored = [(score(f, w, NOW), i) for i, f in enumerate(items)]
    return [i for s, i in sorted(scored, key=lambda pair: pair[0].sort_key(pair[1]))]


def test_overdue_comes_before_due_soon_before_no_due_time() -> None:
    no_due = facts()
    due_soon = facts(due=NOW + dt.timedelta(minutes=40))
    overdue = facts(due=NOW - dt.timedelta(minutes=5))
    assert in_order(no_due, due_soon, overdue) == [2, 1, 0]


def test_the_most_overdue_and_the_soonest_due_come_first() -> None:
    late = facts(due=NOW - dt.timedelta(hours=1))
    later = facts(due=NOW - dt.timedelta(hours=3))
    soon = facts(due=NOW + dt.timedelta(hours=1))
    sooner = facts(due=NOW + dt.timedelta(minutes=10))
    assert in_order(late, later, soon, sooner) == [1, 0, 3, 2]


def test_an_overdue_normal_conversation_beats_an_urgent_one_not_yet_due() -> None:
    urgent = facts(priority="urgent", channel_kind="chat")
    overdue = facts(due=NOW - dt.timedelta(minutes=1))
    assert in_order(urgent, overdue) == [1, 0]


def test_urgent_comes_before_normal_at_equal_due_time() -> None:
    due = NOW + dt.timedelta(hours=2)
    assert in_order(facts(due=due), facts(due=due, priority="urgent")) == [1, 0]
    assert in_order(facts(priority="low"), facts(priority="high")) == [1, 0]


def test_chat_comes_before_email_when_everything_else_is_equal() -> None:
    assert in_order(facts(channel_kind="email"), facts(channel_kind="chat")) == [1, 0]


def test_messenger_customers_are_the_least_patient_and_forms_wait_longer_than_api() -> None:
    kinds = ["email", "form", "api", "chat", "messenger"]
    assert in_order(*(facts(channel_kind=k) for k in kinds)) == [4, 3, 2, 1, 0]


def test_a_shop_can_change_the_urgency_of_a_channel() -> None:
    channels = {**DEFAULT_WEIGHTS["channels"], "email": 500}
    assert in_order(
        facts(channel_kind="chat"), facts(channel_kind="email"), weights={"channels": channels}
    ) == [1, 0]


def test_longer_waiting_comes_first_at_equal_everything() -> None:
    short = facts(waiting_since=NOW - dt.timedelta(minutes=10))
    long = facts(waiting_since=NOW - dt.timedelta(hours=5))
    assert in_order(short, long) == [1, 0]


def test_after_hours_arrivals_come_first_at_opening_in_arrival_order() -> None:
    overdue_urgent_chat = facts(priority="urgent", channel_kind="chat", due=NOW - dt.timedelta(hours=2))
    at_23 = facts(arrived_at=NOW - dt.timedelta(hours=11), arrived_after_hours=True)
    at_22_low = facts(priority="low", arrived_at=NOW - dt.timedelta(hours=12), arrived_after_hours=True)
    at_7_urgent = facts(priority="urgent", arrived_at=NOW - dt.timedelta(hours=3), arrived_after_hours=True)
    assert in_order(overdue_urgent_chat, at_23, at_22_low, at_7_urgent) == [2, 1, 3, 0]


def test_customer_value_raises_a_conversation() -> None:
    weights = {"value_attribute": "orders"}
    assert in_order(facts(value=None), facts(value=12), weights=weights) == [1, 0]
    assert in_order(facts(value=3), facts(value=40), weights=weights) == [1, 0]
    assert in_order(facts(value=False), facts(value=True), weights=weights) == [1, 0]


def test_customer_value_counts_only_when_the_shop_named_the_attribute() -> None:
    w = {**DEFAULT_WEIGHTS}
    assert score(facts(value=500), w, NOW).points == score(facts(), w, NOW).points


def test_a_vip_tag_raises_a_conversation() -> None:
    assert in_order(facts(), facts(vip=True)) == [1, 0]


def test_the_parts_say_why_biggest_first() -> None:
    w = {**DEFAULT_WEIGHTS, "value_attribute": "orders"}
    result = score(
        facts(priority="high", channel_kind="chat", due=NOW - dt.timedelta(hours=2), value=60, vip=True),
        w,
        NOW,
    )
    labels = [label for label, _points in result.parts]
    assert labels[0] == "Overdue by 2\xa0hours"
    assert "Priority: High" in labels
    assert "Channel: chat" in labels
    assert "Waiting for 30\xa0minutes" in labels
    assert "Customer value (orders: 60)" in labels
    assert "VIP customer" in labels
    assert result.points == sum(points for _label, points in result.parts)
    assert [p for _l, p in result.parts] == sorted((p for _l, p in result.parts), reverse=True)


# --- Read off real conversations ------------------------------------------------------------------


def _arrived(conversation: Conversation, at: dt.datetime, **fields: object) -> Conversation:
    """As if it had arrived at `at`, with no due time unless given (receive() promised one now)."""
    due: dict[str, object] = {"promised_by": None, "first_response_due": None, "next_response_due": None}
    Conversation.objects.filter(pk=conversation.pk).update(
        created_at=at, waiting_since=at, **{**due, **fields}
    )
    conversation.refresh_from_db()
    return conversation


@pytest.mark.django_db
def test_conversations_that_arrived_in_the_night_are_answered_first_in_arrival_order(api_channel) -> None:  # type: ignore[no-untyped-def]
    # The built-in calendar: Monday–Friday 09:00–17:00 in Warsaw (UTC+1 in November).
    urgent_today = _arrived(
        receive(api_channel, "Today", email="a@example.org"), NOW - dt.timedelta(minutes=30)
    )
    Conversation.objects.filter(pk=urgent_today.pk).update(priority="urgent")
    at_2 = _arrived(
        receive(api_channel, "At two", email="b@example.org"), dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.UTC)
    )
    at_23 = _arrived(
        receive(api_channel, "At eleven", email="c@example.org"),
        dt.datetime(2026, 11, 23, 22, 0, tzinfo=dt.UTC),
    )
    order = [r.conversation.pk for r in ranked_queue(api_channel.tenant, now=NOW)]
    assert order == [at_23.pk, at_2.pk, urgent_today.pk]


@pytest.mark.django_db
def test_the_queue_holds_only_unassigned_active_unsnoozed_conversations_of_the_shop(
    api_channel, agent: Membership, other_tenant
) -> None:  # type: ignore[no-untyped-def]
    waiting = receive(api_channel, "Waiting", email="a@example.org")
    assigned = receive(api_channel, "Assigned", email="b@example.org")
    resolved = receive(api_channel, "Resolved", email="c@example.org")
    snoozed = receive(api_channel, "Snoozed", email="d@example.org")
    Conversation.objects.filter(pk=assigned.pk).update(assignee=agent)
    Conversation.objects.filter(pk=resolved.pk).update(status="resolved")
    Conversation.objects.filter(pk=snoozed.pk).update(snoozed_until=dt.datetime(2100, 1, 1, tzinfo=dt.UTC))
    receive(ChannelFactory(tenant=other_tenant, kind="api"), "Elsewhere", email="e@example.org")
    assert [r.conversation.pk for r in ranked_queue(api_channel.tenant)] == [waiting.pk]


@pytest.mark.django_db
def test_the_shop_sets_the_value_attribute_and_the_vip_tag(api_channel) -> None:  # type: ignore[no-untyped-def]
    tenant = api_channel.tenant
    tenant.service = {"queue_weights": {"value_attribute": "orders", "vip_tag": "gold"}}
    tenant.save(update_fields=["service"])
    plain = _arrived(receive(api_channel, "Plain", email="a@example.org"), NOW - dt.timedelta(hours=1))
    loyal = _arrived(receive(api_channel, "Loyal", email="b@example.org"), NOW - dt.timedelta(minutes=5))
    gold = _arrived(receive(api_channel, "Gold", email="c@example.org"), NOW - dt.timedelta(minutes=5))
    loyal.customer.attributes = {"orders": 12}
    loyal.customer.save(update_fields=["attributes"])
    gold.tags.add(Tag.objects.create(tenant=tenant, name="Gold"))
    order = [r.conversation.pk for r in ranked_queue(tenant, now=NOW)]
    assert order == [gold.pk, loyal.pk, plain.pk]


@pytest.mark.django_db
def test_explain_lists_the_parts_of_a_conversations_place(api_channel) -> None:  # type: ignore[no-untyped-def]
    conversation = _arrived(
        receive(api_channel, "Help", email="a@example.org"),
        NOW - dt.timedelta(hours=1),
        priority="urgent",
        next_response_due=NOW - dt.timedelta(minutes=20),
    )
    why = dict(explain(conversation, now=NOW))
    assert why["Overdue by 20\xa0minutes"] == 1000 + 16
    assert why["Priority: Urgent"] == 3 * 150
    assert why["Channel: api"] == 40
    assert why["Waiting for 1\xa0hour"] == 20


@pytest.mark.django_db
def test_a_page_of_the_queue_costs_the_same_number_of_queries_for_few_and_many(
    api_channel, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    for i in range(3):
        receive(api_channel, f"Question {i}", email=f"c{i}@example.org")
    tenant = api_channel.tenant
    with django_assert_max_num_queries(6):
        assert len(ranked_queue(tenant)) == 3
    for i in range(3, 25):
        receive(api_channel, f"Question {i}", email=f"c{i}@example.org")
    with django_assert_max_num_queries(6):
        assert len(ranked_queue(tenant)) == 25


# --- Calls the customer asked for -----------------------------------------------------------------

# The window: 10:30–12:00 in Warsaw (09:30–11:00 UTC), so at NOW (11:00 Warsaw) due for 30 minutes.
WINDOW_START = dt.datetime(2026, 11, 24, 9, 30, tzinfo=dt.UTC)
WINDOW_END = dt.datetime(2026, 11, 24, 11, 0, tzinfo=dt.UTC)
CALL = "Call back +48601234567 between 10:30 and 12:00"


def _call(conversation: Conversation, state: str = CallbackState.DUE, **fields: object) -> Callback:
    values: dict[str, object] = {
        "tenant_id": conversation.tenant_id,
        "conversation": conversation,
        "phone": "+48601234567",
        "window_start": WINDOW_START,
        "window_end": WINDOW_END,
        "due_at": WINDOW_START,
        "state": state,
    }
    return Callback.objects.create(**{**values, **fields})


def _pending(conversation: Conversation, **fields: object) -> Conversation:
    """Answered, and waiting on the customer: out of the queue by its own clocks."""
    answered = NOW - dt.timedelta(hours=2)
    fields = {"status": "pending", "first_response_at": answered, **fields}
    return _arrived(conversation, NOW - dt.timedelta(hours=3), **fields)


@pytest.mark.django_db
def test_a_due_callback_brings_a_pending_conversation_into_the_queue_as_a_call(api_channel) -> None:  # type: ignore[no-untyped-def]
    conversation = _pending(receive(api_channel, "Please call me", email="a@example.org"))
    callback = _call(conversation)
    [row] = ranked_queue(api_channel.tenant, now=NOW)
    assert row.conversation == conversation
    assert row.call == callback
    assert row.due == WINDOW_START
    why = dict(explain(conversation, now=NOW))
    assert why["Overdue by 30\xa0minutes"] == 1000 + 25
    assert why[CALL] == DEFAULT_WEIGHTS["channels"]["callback"]
    assert "Channel: api" not in why
    assert dict(row.score.parts) == why


@pytest.mark.django_db
def test_a_resolved_conversation_returns_for_a_call_after_its_retry_time(api_channel) -> None:  # type: ignore[no-untyped-def]
    conversation = _pending(receive(api_channel, "Please call me", email="a@example.org"))
    Conversation.objects.filter(pk=conversation.pk).update(status="resolved")
    retry_at = NOW - dt.timedelta(minutes=5)
    _call(conversation, next_attempt_at=retry_at, attempts=1)
    [row] = ranked_queue(api_channel.tenant, now=NOW)
    assert (row.conversation, row.due) == (conversation, retry_at)
    assert "Overdue by 5\xa0minutes" in dict(explain(conversation, now=NOW))


@pytest.mark.django_db
def test_a_callback_not_due_yet_or_waiting_for_its_retry_keeps_a_pending_conversation_out(
    api_channel,
) -> None:  # type: ignore[no-untyped-def]
    scheduled = _pending(receive(api_channel, "Call me tonight", email="a@example.org"))
    _call(scheduled, state=CallbackState.SCHEDULED, due_at=NOW + dt.timedelta(hours=7))
    retrying = _pending(receive(api_channel, "Call me again", email="b@example.org"))
    _call(retrying, next_attempt_at=NOW + dt.timedelta(minutes=20), attempts=1)
    finished = _pending(receive(api_channel, "Called already", email="c@example.org"))
    _call(finished, state=CallbackState.DONE)
    assert ranked_queue(api_channel.tenant, now=NOW) == []
    assert "Channel: api" in dict(explain(retrying, now=NOW))


@pytest.mark.django_db
def test_a_call_waits_only_while_nobody_has_it_and_the_conversation_is_not_closed_merged_or_snoozed(
    api_channel, agent: Membership
) -> None:  # type: ignore[no-untyped-def]
    open_call = _pending(receive(api_channel, "Call me", email="a@example.org"))
    taken = _pending(receive(api_channel, "Taken", email="b@example.org"), assignee=agent)
    closed = _pending(receive(api_channel, "Closed", email="c@example.org"), status="closed")
    snoozed = _pending(
        receive(api_channel, "Snoozed", email="d@example.org"), snoozed_until=NOW + dt.timedelta(hours=1)
    )
    merged = _pending(receive(api_channel, "Merged", email="e@example.org"), merged_into=open_call)
    for conversation in (open_call, taken, closed, snoozed, merged):
        _call(conversation)
    assert [r.conversation.pk for r in ranked_queue(api_channel.tenant, now=NOW)] == [open_call.pk]


@pytest.mark.django_db
def test_an_overdue_call_comes_before_a_conversation_due_later(api_channel) -> None:  # type: ignore[no-untyped-def]
    due_soon = _arrived(
        receive(api_channel, "Where is my parcel?", email="a@example.org"),
        NOW - dt.timedelta(hours=1),
        priority="high",
        promised_by=NOW + dt.timedelta(minutes=20),
    )
    # Its own promise lies far ahead; the call the customer asked for is what is due.
    call = _pending(
        receive(api_channel, "Please call me", email="b@example.org"),
        promised_by=NOW + dt.timedelta(days=2),
    )
    _call(call)
    order = [(r.conversation.pk, r.due) for r in ranked_queue(api_channel.tenant, now=NOW)]
    assert order == [(call.pk, WINDOW_START), (due_soon.pk, NOW + dt.timedelta(minutes=20))]


@pytest.mark.django_db
def test_another_shops_calls_never_enter_the_queue(api_channel, other_tenant) -> None:  # type: ignore[no-untyped-def]
    theirs = _pending(receive(ChannelFactory(tenant=other_tenant, kind="api"), "Call", email="a@example.org"))
    _call(theirs)
    assert ranked_queue(api_channel.tenant, now=NOW) == []
    assert [r.conversation.pk for r in ranked_queue(other_tenant, now=NOW)] == [theirs.pk]


@pytest.mark.django_db
def test_calls_cost_one_more_query_however_many_there_are(api_channel, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    for i in range(3):
        _call(_pending(receive(api_channel, f"Call {i}", email=f"c{i}@example.org")))
        receive(api_channel, f"Question {i}", email=f"q{i}@example.org")
    tenant = api_channel.tenant
    with django_assert_max_num_queries(6):
        assert len(ranked_queue(tenant, now=NOW)) == 6
    for i in range(3, 25):
        _call(_pending(receive(api_channel, f"Call {i}", email=f"c{i}@example.org")))
    with django_assert_max_num_queries(6):
        assert len(ranked_queue(tenant, now=NOW)) == 28


def test_a_calls_window_shows_the_day_only_when_it_runs_past_midnight() -> None:
    warsaw = dt.timezone(dt.timedelta(hours=1))
    evening = dt.datetime(2026, 11, 24, 18, 0, tzinfo=warsaw)
    same_day = Call("+48601234567", evening, evening + dt.timedelta(hours=2))
    overnight = Call("+48601234567", evening + dt.timedelta(hours=4), evening + dt.timedelta(hours=7))
    with translation.override("en"):
        assert same_day.label() == "Call back +48601234567 between 18:00 and 20:00"
        assert overnight.label() == "Call back +48601234567 between 24.11 22:00 and 25.11 01:00"
