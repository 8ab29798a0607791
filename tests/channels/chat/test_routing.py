"""Who gets a new chat: the online agent with room and the fewest open chats; a chat nobody answers
in time goes to the next one, round everyone available."""

from __future__ import annotations

import datetime as dt
import itertools

from django.utils import timezone

from frontdesk.desk.actions.conversations import do_assign, do_reply, do_set_status
from frontdesk.desk.actions.routing import reoffer_chats
from frontdesk.desk.models import Availability, ChatOffer, Conversation, Event, Status
from tests.factories import ChannelFactory, MembershipFactory, receive

from .conftest import Browser


def new_chat(channel, text: str = "Is anybody there?") -> Conversation:  # type: ignore[no-untyped-def]
    """A new visitor on the shop's site writes."""
    browser = Browser(channel)
    assert browser.start().status_code == 200
    response = browser.say(text)
    assert response.status_code == 201, response.content
    number = response.json()["message"]["conversation"]
    return Conversation.objects.get(tenant_id=channel.tenant_id, number=number)


def later(seconds: int) -> dt.datetime:
    return timezone.now() + dt.timedelta(seconds=seconds)


def passed_on(conversation: Conversation) -> list[dict]:
    return [
        e.data for e in Event.objects.filter(kind="chat.passed_on", conversation=conversation).order_by("id")
    ]


def test_a_new_chat_is_offered_to_the_online_agent_with_the_fewest_open_chats(chat_channel, tenant):
    busy = MembershipFactory(tenant=tenant)
    free = MembershipFactory(tenant=tenant)
    for n in range(2):
        conversation = receive(chat_channel, email=f"earlier{n}@example.org")
        do_assign(None, conversation, assignee=busy)

    chat = new_chat(chat_channel)

    assert chat.assignee == free
    offer = ChatOffer.objects.get(conversation=chat)
    assert offer.member == free
    event = Event.objects.get(kind="chat.offered", conversation=chat)
    assert event.data["member"] == free.pk


def test_open_conversations_of_other_channels_do_not_count_as_chats(chat_channel, tenant, email_channel):
    mailer = MembershipFactory(tenant=tenant)
    chatter = MembershipFactory(tenant=tenant)
    for n in range(3):
        do_assign(None, receive(email_channel, email=f"mail{n}@example.org"), assignee=mailer)
    do_assign(None, receive(chat_channel, email="chat@example.org"), assignee=chatter)

    assert new_chat(chat_channel).assignee == mailer


def test_agents_away_offline_or_at_capacity_are_skipped(chat_channel, tenant):
    MembershipFactory(tenant=tenant, availability=Availability.AWAY)
    MembershipFactory(tenant=tenant, availability=Availability.OFFLINE)
    full = MembershipFactory(tenant=tenant, capacity=1)
    do_assign(None, receive(chat_channel, email="earlier@example.org"), assignee=full)
    MembershipFactory(tenant=tenant, is_active=False)
    room = MembershipFactory(tenant=tenant, capacity=2)

    assert new_chat(chat_channel).assignee == room
    assert new_chat(chat_channel).assignee == room
    # Now everyone online is at capacity.
    assert new_chat(chat_channel).assignee is None


def test_a_chat_the_agent_answered_still_counts_against_their_capacity(chat_channel, tenant):
    anna = MembershipFactory(tenant=tenant, capacity=1)
    first = new_chat(chat_channel)
    assert first.assignee == anna
    do_reply(anna, first, "Hello! How can I help?")
    first.refresh_from_db()
    assert first.status == Status.PENDING  # waiting on the visitor, still a chat Anna is in

    second = new_chat(chat_channel)

    assert second.assignee is None
    assert Browser(chat_channel).start().json()["availability"]["reason"] == "busy"


def test_with_nobody_available_the_chat_stays_unassigned(chat_channel, tenant):
    MembershipFactory(tenant=tenant, availability=Availability.OFFLINE)

    chat = new_chat(chat_channel)

    assert chat.assignee is None
    assert not ChatOffer.objects.exists()
    assert reoffer_chats(now=later(3600)) == 0


def test_a_chat_nobody_answers_in_time_passes_to_another_agent(chat_channel, tenant):
    anna = MembershipFactory(tenant=tenant)
    bob = MembershipFactory(tenant=tenant)
    chat = new_chat(chat_channel)
    assert chat.assignee == anna

    assert reoffer_chats(now=later(30)) == 0
    chat.refresh_from_db()
    assert chat.assignee == anna
    assert passed_on(chat) == []

    assert reoffer_chats(now=later(61)) == 1

    chat.refresh_from_db()
    assert chat.assignee == bob
    assert passed_on(chat) == [{"from": anna.pk, "to": bob.pk, "after_seconds": 60}]
    assert ChatOffer.objects.get(member=anna).expired_at is not None
    assert ChatOffer.objects.get(member=bob).expired_at is None


def test_the_channels_own_wait_decides_when_a_chat_is_passed_on(chat_channel, tenant):
    chat_channel.config = {**chat_channel.config, "reoffer_seconds": 120}
    chat_channel.save()
    MembershipFactory(tenant=tenant)
    bob = MembershipFactory(tenant=tenant)
    chat = new_chat(chat_channel)

    assert reoffer_chats(now=later(90)) == 0
    assert reoffer_chats(now=later(121)) == 1
    chat.refresh_from_db()
    assert chat.assignee == bob


def test_an_answered_chat_is_never_passed_on(chat_channel, tenant):
    anna = MembershipFactory(tenant=tenant)
    MembershipFactory(tenant=tenant)
    chat = new_chat(chat_channel)

    do_reply(anna, chat, "Hello, I'm here")

    assert reoffer_chats(now=later(3600)) == 0
    chat.refresh_from_db()
    assert chat.assignee == anna
    assert ChatOffer.objects.get().answered_at is not None
    assert passed_on(chat) == []


def test_a_chat_resolved_by_hand_is_not_passed_on(chat_channel, tenant):
    anna = MembershipFactory(tenant=tenant)
    MembershipFactory(tenant=tenant)
    chat = new_chat(chat_channel)

    do_set_status(anna, chat, Status.RESOLVED)

    assert reoffer_chats(now=later(3600)) == 0
    chat.refresh_from_db()
    assert chat.assignee == anna
    assert passed_on(chat) == []
    assert ChatOffer.objects.get().expired_at is not None


def test_a_chat_reassigned_by_hand_is_not_passed_on(chat_channel, tenant):
    anna = MembershipFactory(tenant=tenant)
    MembershipFactory(tenant=tenant)
    carol = MembershipFactory(tenant=tenant, role="supervisor")
    chat = new_chat(chat_channel)
    assert chat.assignee == anna

    do_assign(carol, chat, assignee=carol)

    assert reoffer_chats(now=later(3600)) == 0
    chat.refresh_from_db()
    assert chat.assignee == carol
    assert passed_on(chat) == []


def test_when_everyone_had_the_chat_the_round_starts_again_but_not_with_the_current_agent(
    chat_channel, tenant
):
    anna = MembershipFactory(tenant=tenant)
    bob = MembershipFactory(tenant=tenant)
    carol = MembershipFactory(tenant=tenant)
    chat = new_chat(chat_channel)
    holders = [Conversation.objects.get(pk=chat.pk).assignee]

    for round_ in range(1, 5):
        assert reoffer_chats(now=later(61 * round_)) == 1
        holders.append(Conversation.objects.get(pk=chat.pk).assignee)

    assert holders[:3] == [anna, bob, carol]
    # Round two: from Carol to the first of the others again.
    assert holders[3] == anna
    assert holders[4] == bob
    assert all(a != b for a, b in itertools.pairwise(holders))


def test_with_nobody_else_free_the_agent_keeps_the_chat_and_it_is_tried_again_later(chat_channel, tenant):
    anna = MembershipFactory(tenant=tenant)
    chat = new_chat(chat_channel)

    assert reoffer_chats(now=later(61)) == 0
    chat.refresh_from_db()
    assert chat.assignee == anna
    bob = MembershipFactory(tenant=tenant)

    assert reoffer_chats(now=later(62)) == 1
    chat.refresh_from_db()
    assert chat.assignee == bob


def test_a_chat_of_another_shop_is_never_offered_to_our_agents(chat_channel, agent, other_tenant, outsider):
    theirs = ChannelFactory(tenant=other_tenant, kind="chat", config={})

    assert new_chat(theirs).assignee == outsider
    assert new_chat(chat_channel).assignee == agent
