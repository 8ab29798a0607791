"""Agents see the running clock on every inbox row and conversation ("first answer due in 2 h",
"overdue by 35 min"), and on the conversation what the customer was promised and why."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from frontdesk.desk.models import Conversation, SlaPolicy
from tests.factories import receive

pytestmark = pytest.mark.django_db


def test_a_running_first_response_clock_shows_on_the_row_and_the_conversation(
    agent_client, api_channel, tenant
):
    SlaPolicy.objects.create(tenant=tenant, name="Szybko", first_response_minutes=120, business_hours=False)
    conversation = receive(api_channel, "Gdzie paczka?", external_id="c-1")
    assert conversation.first_response_due is not None

    row = agent_client.get(f"/t/{tenant.slug}/inbox/list/").content.decode()
    page = agent_client.get(f"/t/{tenant.slug}/c/{conversation.number}/").content.decode()

    for html in (row, page):
        assert 'data-testid="sla-clock" data-target="first_response"' in html
        assert "First answer due in 1" in html  # "1 h 59 min" or thereabouts


def test_an_overdue_clock_says_so(agent_client, api_channel, tenant):
    conversation = receive(api_channel, "Halo?", external_id="c-2")
    Conversation.objects.filter(pk=conversation.pk).update(
        first_response_due=timezone.now() - dt.timedelta(minutes=35)
    )
    html = agent_client.get(f"/t/{tenant.slug}/c/{conversation.number}/").content.decode()
    assert "is-overdue" in html
    assert "First answer overdue by 35" in html


def test_no_clock_once_the_conversation_is_resolved(agent_client, api_channel, tenant):
    conversation = receive(api_channel, "Dziękuję", external_id="c-3")
    Conversation.objects.filter(pk=conversation.pk).update(
        first_response_due=timezone.now() + dt.timedelta(hours=1), status="resolved"
    )
    html = agent_client.get(f"/t/{tenant.slug}/c/{conversation.number}/").content.decode()
    assert 'data-testid="sla-clock"' not in html


def test_the_conversation_shows_the_promise_and_why(agent_client, api_channel, tenant):
    tenant.service = {}
    tenant.save(update_fields=["service"])
    conversation = receive(api_channel, "Kiedy wysyłka?", external_id="c-4")
    conversation.refresh_from_db()
    assert conversation.promised_by is not None

    html = agent_client.get(f"/t/{tenant.slug}/c/{conversation.number}/").content.decode()

    assert 'data-testid="promise-panel"' in html
    assert "0 conversations ahead in the queue" in html
    assert "the target was promised" in html
