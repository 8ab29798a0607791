"""A chat that came in while every agent was away is offered as soon as someone is free."""

from __future__ import annotations

from frontdesk.desk.actions.routing import offer_waiting_chats
from frontdesk.desk.models import Availability, Conversation, Event
from tests.factories import MembershipFactory


def test_a_chat_that_came_in_while_everyone_was_away_is_offered_when_an_agent_comes_online(browser, tenant):
    agent = MembershipFactory(tenant=tenant, availability=Availability.AWAY)
    browser.say("Jest tam ktoś?")
    conversation = Conversation.objects.get()
    assert conversation.assignee is None
    assert offer_waiting_chats() == 0

    agent.availability = Availability.ONLINE
    agent.save()
    assert offer_waiting_chats() == 1

    conversation.refresh_from_db()
    assert conversation.assignee == agent
    assert Event.objects.filter(kind="chat.offered", conversation=conversation).exists()
    assert offer_waiting_chats() == 0  # taken: nothing more to offer


def test_an_agent_at_capacity_is_not_offered_another_waiting_chat(browser, tenant):
    agent = MembershipFactory(tenant=tenant, availability=Availability.ONLINE, capacity=1)
    browser.say("Pierwszy czat")
    from tests.channels.chat.conftest import Browser

    second = Browser(browser.channel)
    second.start()
    second.say("Drugi czat")
    chats = list(Conversation.objects.order_by("pk"))
    assert [c.assignee for c in chats] == [agent, None]
    assert offer_waiting_chats() == 0
