"""Automatic assignment: the queue is handed to online agents by load or in turn, and what nobody
answered in time goes to someone else."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.db import close_old_connections, connection
from django.db.models import F
from django.utils import timezone

from frontdesk.desk.actions.assignment import auto_assign_sweep, reassign_sweep, settings_of
from frontdesk.desk.actions.conversations import do_assign, do_reply
from frontdesk.desk.models import BusinessCalendar, Conversation, Event, Membership, Tenant
from tests.factories import ChannelFactory, MembershipFactory, TeamFactory, receive

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def open_all_day(tenant) -> None:  # type: ignore[no-untyped-def]
    """The shop is always open: the queue is in its ordinary order whenever the test runs."""
    BusinessCalendar.objects.create(
        tenant=tenant, name="Always", week=[[[0, 1440]]] * 7, public_holidays=False, is_default=True
    )


def _enable(tenant: Tenant, **options: Any) -> None:
    tenant.service = {**(tenant.service or {}), "auto_assign": {"enabled": True, **options}}
    tenant.save(update_fields=["service"])


def _agents(tenant: Tenant, count: int, **fields: Any) -> list[Membership]:
    return [MembershipFactory(tenant=tenant, **fields) for _ in range(count)]


def _assignee(conversation: Conversation) -> int | None:
    return Conversation.objects.values_list("assignee_id", flat=True).get(pk=conversation.pk)


def _time_passes(conversation: Conversation, minutes: int) -> None:
    """Move what happened to the conversation (its assignments) `minutes` into the past."""
    Event.objects.filter(conversation=conversation).update(
        created_at=F("created_at") - dt.timedelta(minutes=minutes)
    )


def _questions(channel, count: int) -> list[Conversation]:  # type: ignore[no-untyped-def]
    return [receive(channel, f"Question {i}", email=f"c{i}@example.org") for i in range(count)]


def test_nothing_is_assigned_until_the_shop_turns_it_on(tenant, api_channel) -> None:  # type: ignore[no-untyped-def]
    _agents(tenant, 1)
    conversation = receive(api_channel)
    assert settings_of(tenant).enabled is False
    assert auto_assign_sweep() == 0
    assert _assignee(conversation) is None


def test_balanced_gives_the_conversation_to_the_least_loaded_agent(tenant, api_channel) -> None:  # type: ignore[no-untyped-def]
    busy, free = _agents(tenant, 2)
    for conversation in _questions(api_channel, 2):
        Conversation.objects.filter(pk=conversation.pk).update(assignee=busy)
    _enable(tenant, mode="balanced")
    new = receive(api_channel, "Another one", email="new@example.org")
    assert auto_assign_sweep() == 1
    assert _assignee(new) == free.pk
    event = Event.objects.get(conversation=new, kind="assignment.auto")
    assert event.data["mode"] == "balanced"
    assert event.data["member"] == free.pk
    assert Event.objects.get(conversation=new, kind="conversation.assigned").actor is None


def test_balanced_spreads_a_full_queue_evenly(tenant, api_channel) -> None:  # type: ignore[no-untyped-def]
    agents = _agents(tenant, 3)
    conversations = _questions(api_channel, 6)
    _enable(tenant)
    assert auto_assign_sweep() == 6
    loads = [Conversation.objects.filter(assignee=a).count() for a in agents]
    assert loads == [2, 2, 2]
    assert all(_assignee(c) is not None for c in conversations)


def test_balanced_breaks_a_tie_in_favour_of_who_waited_longest_for_work(tenant, owner, api_channel) -> None:  # type: ignore[no-untyped-def]
    Membership.objects.filter(pk=owner.pk).update(availability="offline")
    recent, idle = _agents(tenant, 2)
    done = receive(api_channel, "Done", email="done@example.org")
    do_assign(owner, done, assignee=recent)
    Conversation.objects.filter(pk=done.pk).update(status="resolved")
    new = receive(api_channel, "New", email="new@example.org")
    _enable(tenant)
    assert auto_assign_sweep() == 1
    assert _assignee(new) == idle.pk


def test_the_queue_is_handed_out_in_its_own_order(tenant, api_channel) -> None:  # type: ignore[no-untyped-def]
    (agent,) = _agents(tenant, 1)
    normal, urgent = _questions(api_channel, 2)
    Conversation.objects.filter(pk=urgent.pk).update(priority="urgent")
    _enable(tenant, max_open=1)
    assert auto_assign_sweep() == 1
    assert _assignee(urgent) == agent.pk
    assert _assignee(normal) is None


def test_round_robin_takes_turns_over_three_agents_whatever_their_load(tenant, api_channel) -> None:  # type: ignore[no-untyped-def]
    first, second, third = _agents(tenant, 3)
    earlier = receive(api_channel, "Old", email="old@example.org")
    Conversation.objects.filter(pk=earlier.pk).update(assignee=first, status="open")
    conversations = _questions(api_channel, 4)
    _enable(tenant, mode="round_robin")
    assert auto_assign_sweep() == 4
    assert [_assignee(c) for c in conversations] == [first.pk, second.pk, third.pk, first.pk]
    # The next sweep carries on where this one stopped.
    later = receive(api_channel, "Later", email="later@example.org")
    assert auto_assign_sweep() == 1
    assert _assignee(later) == second.pk


def test_away_and_offline_agents_are_given_nothing(tenant, api_channel) -> None:  # type: ignore[no-untyped-def]
    MembershipFactory(tenant=tenant, availability="away")
    MembershipFactory(tenant=tenant, availability="offline")
    MembershipFactory(tenant=tenant, is_active=False)
    conversation = receive(api_channel)
    _enable(tenant)
    assert auto_assign_sweep() == 0
    assert _assignee(conversation) is None
    online = MembershipFactory(tenant=tenant)
    assert auto_assign_sweep() == 1
    assert _assignee(conversation) == online.pk


def test_a_team_conversation_goes_only_to_the_teams_members(tenant, api_channel) -> None:  # type: ignore[no-untyped-def]
    _outside, inside = _agents(tenant, 2)
    team = TeamFactory(tenant=tenant, name="Returns")
    team.members.add(inside)
    # The outsider has nothing open and would win on load alone.
    Conversation.objects.filter(pk=receive(api_channel, "Busy", email="x@example.org").pk).update(
        assignee=inside
    )
    returns = receive(api_channel, "A return")
    Conversation.objects.filter(pk=returns.pk).update(team=team)
    _enable(tenant)
    assert auto_assign_sweep() == 1
    assert _assignee(returns) == inside.pk


def test_a_conversation_in_a_language_goes_to_an_agent_who_speaks_it(tenant, api_channel) -> None:  # type: ignore[no-untyped-def]
    MembershipFactory(tenant=tenant, languages=["pl"])
    german_speaker = MembershipFactory(tenant=tenant, languages=["de", "en"])
    german = receive(api_channel, "Wo ist mein Paket?")
    Conversation.objects.filter(pk=german.pk).update(language="de")
    _enable(tenant)
    assert auto_assign_sweep() == 1
    assert _assignee(german) == german_speaker.pk


def test_nobody_speaking_the_language_leaves_it_in_the_queue(tenant, api_channel) -> None:  # type: ignore[no-untyped-def]
    MembershipFactory(tenant=tenant, languages=["pl"])
    french = receive(api_channel, "Où est mon colis ?")
    Conversation.objects.filter(pk=french.pk).update(language="fr")
    _enable(tenant)
    assert auto_assign_sweep() == 0
    assert _assignee(french) is None


def test_an_agent_at_max_open_is_given_no_more(tenant, api_channel) -> None:  # type: ignore[no-untyped-def]
    (agent,) = _agents(tenant, 1)
    first, second = _questions(api_channel, 2)
    _enable(tenant, max_open=1)
    assert auto_assign_sweep() == 1
    assert _assignee(first) == agent.pk
    assert _assignee(second) is None
    # Resolving the first frees the place.
    Conversation.objects.filter(pk=first.pk).update(status="resolved")
    assert auto_assign_sweep() == 1
    assert _assignee(second) == agent.pk


def test_live_chats_are_left_to_the_chat_router(tenant, api_channel) -> None:  # type: ignore[no-untyped-def]
    chat = ChannelFactory(tenant=tenant, kind="chat")
    # Nobody is online when the chat comes in, so the router could not offer it.
    waiting_chat = receive(chat, "Hello?", email="visitor@example.org")
    email = receive(api_channel, "A question", email="c@example.org")
    assert _assignee(waiting_chat) is None
    agent = MembershipFactory(tenant=tenant)
    _enable(tenant)
    assert auto_assign_sweep() == 1
    assert _assignee(email) == agent.pk
    assert _assignee(waiting_chat) is None
    assert not Event.objects.filter(conversation=waiting_chat, kind="assignment.auto").exists()


def test_another_shops_agents_never_get_this_shops_conversations(tenant, other_tenant, api_channel) -> None:  # type: ignore[no-untyped-def]
    stranger = MembershipFactory(tenant=other_tenant)
    _enable(other_tenant)
    conversation = receive(api_channel)
    _enable(tenant)
    assert auto_assign_sweep() == 0
    assert _assignee(conversation) is None
    own = MembershipFactory(tenant=tenant)
    assert auto_assign_sweep() == 1
    assert _assignee(conversation) == own.pk
    assert not Conversation.objects.filter(assignee=stranger).exists()


# --- Re-assignment --------------------------------------------------------------------------------


def test_an_unanswered_conversation_goes_to_another_agent_after_the_set_time(tenant, api_channel) -> None:  # type: ignore[no-untyped-def]
    first, second, third = _agents(tenant, 3)
    conversation = receive(api_channel)
    _enable(tenant, reassign_minutes=60)
    assert auto_assign_sweep() == 1
    assert _assignee(conversation) == first.pk
    _time_passes(conversation, 59)
    assert reassign_sweep() == 0
    _time_passes(conversation, 2)
    assert reassign_sweep() == 1
    assert _assignee(conversation) == second.pk
    event = Event.objects.get(conversation=conversation, kind="assignment.reassigned")
    assert event.data["from"] == first.pk
    assert event.data["to"] == second.pk
    assert event.data["after_minutes"] == 60
    assert Event.objects.filter(conversation=conversation, kind="conversation.assigned").last().actor is None  # type: ignore[union-attr]
    # The new agent gets their own full hour: it does not move on at once.
    assert reassign_sweep() == 0
    assert _assignee(conversation) == second.pk
    # Another unanswered hour: on to the one who has waited longest for work, not back to the first.
    _time_passes(conversation, 61)
    assert reassign_sweep() == 1
    assert _assignee(conversation) == third.pk


def test_the_sweep_decides_by_the_time_it_is_given(tenant, api_channel) -> None:  # type: ignore[no-untyped-def]
    _first, second = _agents(tenant, 2)
    conversation = receive(api_channel)
    _enable(tenant, reassign_minutes=60)
    auto_assign_sweep()
    now = timezone.now()
    assert reassign_sweep(now + dt.timedelta(minutes=59)) == 0
    assert reassign_sweep(now + dt.timedelta(minutes=61)) == 1
    assert _assignee(conversation) == second.pk


def test_reassignment_never_gives_it_back_to_the_same_agent(tenant, api_channel) -> None:  # type: ignore[no-untyped-def]
    (only,) = _agents(tenant, 1)
    conversation = receive(api_channel)
    _enable(tenant, reassign_minutes=60)
    auto_assign_sweep()
    later = timezone.now() + dt.timedelta(hours=2)
    assert reassign_sweep(later) == 0
    assert _assignee(conversation) == only.pk
    assert not Event.objects.filter(kind="assignment.reassigned").exists()


def test_an_answered_conversation_is_not_reassigned(tenant, api_channel) -> None:  # type: ignore[no-untyped-def]
    first, _second = _agents(tenant, 2)
    conversation = receive(api_channel, external_id="cust-7")
    _enable(tenant, reassign_minutes=60)
    auto_assign_sweep()
    _time_passes(conversation, 61)
    conversation.refresh_from_db()
    # Kept open (not waiting on the customer): only the answer itself keeps it with the agent.
    do_reply(first, conversation, "We are on it.", status="open")
    Conversation.objects.filter(pk=conversation.pk).update(waiting_since=timezone.now())
    assert reassign_sweep() == 0
    assert _assignee(conversation) == first.pk


def test_a_conversation_assigned_by_hand_is_never_reassigned(tenant, owner, api_channel) -> None:  # type: ignore[no-untyped-def]
    Membership.objects.filter(pk=owner.pk).update(availability="offline")
    first, second = _agents(tenant, 2)
    conversation = receive(api_channel)
    _enable(tenant, reassign_minutes=60)
    auto_assign_sweep()
    assert _assignee(conversation) == first.pk
    conversation.refresh_from_db()
    do_assign(owner, conversation, assignee=second)
    assert reassign_sweep(timezone.now() + dt.timedelta(hours=2)) == 0
    assert _assignee(conversation) == second.pk


def test_reassignment_is_off_by_default(tenant, api_channel) -> None:  # type: ignore[no-untyped-def]
    first, _second = _agents(tenant, 2)
    conversation = receive(api_channel)
    _enable(tenant)
    auto_assign_sweep()
    assert reassign_sweep(timezone.now() + dt.timedelta(days=3)) == 0
    assert _assignee(conversation) == first.pk


# --- Two schedulers at once -----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_assign_each_conversation_once(tenant) -> None:  # type: ignore[no-untyped-def]
    """Two schedulers sweep at the same moment (threads, each with its own connection). PostgreSQL:
    row locks with SKIP LOCKED; SQLite: the IMMEDIATE transaction makes them take turns."""
    BusinessCalendar.objects.get_or_create(
        tenant=tenant,
        name="Always",
        defaults={"week": [[[0, 1440]]] * 7, "public_holidays": False, "is_default": True},
    )
    channel = ChannelFactory(tenant=tenant, kind="api")
    _agents(tenant, 3)
    conversations = _questions(channel, 8)
    _enable(tenant)
    start = threading.Barrier(2)
    counts: list[int] = []
    errors: list[BaseException] = []

    def sweep() -> None:
        try:
            start.wait(timeout=10)
            counts.append(auto_assign_sweep())
        except BaseException as exc:  # reported by the test thread below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert sum(counts) == len(conversations)
    for conversation in conversations:
        assert _assignee(conversation) is not None
        assert Event.objects.filter(conversation=conversation, kind="conversation.assigned").count() == 1
        assert Event.objects.filter(conversation=conversation, kind="assignment.auto").count() == 1
