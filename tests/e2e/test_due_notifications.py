"""An agent with notifications on hears when a conversation of theirs is past its due time: the
server's scheduler records the breach and the agent's open page rings — nothing in the page polls."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from frontdesk.desk.models import Conversation, SlaPolicy
from tests.factories import ChannelFactory, receive

from .test_chat_agent import RECORD_NOTIFICATIONS, connected

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_assignee_is_told_when_their_conversation_is_past_its_due_time(open_as, server, agent):
    tenant = agent.tenant
    SlaPolicy.objects.create(tenant=tenant, name="Szybko", first_response_minutes=60, business_hours=False)
    anna = open_as(agent)
    anna.context.grant_permissions(["notifications"], origin=server.url)
    anna.add_init_script(RECORD_NOTIFICATIONS)
    anna.goto(f"/t/{tenant.slug}/")
    connected(anna)
    anna.get_by_test_id("notify-toggle").click()

    # A customer's message, Anna's, whose first answer was due ten minutes ago.
    conversation = receive(ChannelFactory(tenant=tenant, kind="api"), "Halo?", external_id="c-1")
    Conversation.objects.filter(pk=conversation.pk).update(
        assignee=agent, first_response_due=timezone.now() - dt.timedelta(minutes=10)
    )

    # The server's SLA sweep runs every 30 s.
    anna.wait_for_function("window.__notifications.length === 1", timeout=60_000)
    shown = anna.evaluate("window.__notifications.map(n => [n.title, n.body])")
    assert shown == [["Answer overdue", f"Conversation #{conversation.number} is past its due time."]]
