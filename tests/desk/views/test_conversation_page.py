"""The conversation page: the thread with notes and events, delivery states, the panels."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from frontdesk.channels.base import InboundAttachment
from frontdesk.desk.actions.conversations import (
    do_add_note,
    do_assign,
    do_reply,
    do_set_priority,
    do_set_status,
    do_set_tags,
    do_snooze,
)
from frontdesk.desk.models import Delivery, DeliveryState, DeliveryStatus, Event, Message
from tests.desk.views.conftest import text_of
from tests.factories import ChannelFactory, TagFactory, TeamFactory, receive

pytestmark = pytest.mark.django_db


def page(client, number: int = 1):  # type: ignore[no-untyped-def]
    response = client.get(f"/t/rowery/c/{number}/")
    assert response.status_code == 200
    return response


def test_the_thread_shows_messages_notes_and_what_happened_in_order(agent_client, agent, owner, conversation):
    team = TeamFactory(tenant=agent.tenant, name="Returns desk")
    do_assign(owner, conversation, assignee=agent, team=team)
    do_reply(agent, conversation, "It ships tomorrow.")
    do_add_note(agent, conversation, "Asked the warehouse, @owner please confirm")
    do_set_priority(agent, conversation, "high")
    do_set_tags(agent, conversation, [TagFactory(tenant=agent.tenant, name="delivery")])
    do_set_status(agent, conversation, "on_hold")

    text = text_of(agent_client.get("/t/rowery/c/1/timeline/"))

    expected = [
        "Conversation started in",
        "Where is my order 1234?",
        "Olga Owner assigned the conversation to Anna Agent",
        "moved the conversation to team Returns desk",
        "It ships tomorrow.",
        "Status Waiting on customer after Anna Agent's reply",
        "Internal note",
        "Asked the warehouse",
        "Anna Agent changed the priority from Normal to High",
        "Anna Agent added the tag delivery",
        "Anna Agent changed the status to On hold",
    ]
    positions = [text.find(s) for s in expected]
    assert all(p >= 0 for p in positions), list(zip(expected, positions, strict=True))
    assert positions == sorted(positions)


def test_notes_look_different_from_replies_and_highlight_mentions(agent_client, agent, owner, conversation):
    do_add_note(agent, conversation, "@owner can you check?")

    html = page(agent_client).content.decode()

    assert 'class="msg msg-note' in html
    assert '<span class="mention">@owner</span>' in html


def test_a_failed_reply_shows_the_error_and_a_retry_button(agent_client, agent, conversation):
    message = do_reply(agent, conversation, "Your refund is on its way.")
    Message.objects.filter(pk=message.pk).update(
        delivery_state=DeliveryState.FAILED, delivery_error="HTTP 410: the shop endpoint is gone"
    )
    Delivery.objects.filter(message=message).update(status=DeliveryStatus.FAILED)

    response = page(agent_client)

    assert "Not delivered" in text_of(response)
    assert "HTTP 410: the shop endpoint is gone" in text_of(response)
    assert f"/t/rowery/c/1/messages/{message.pk}/retry/" in response.content.decode()


def test_a_queued_reply_says_queued(agent_client, agent, conversation):
    do_reply(agent, conversation, "Checking now.")

    assert 'data-state="queued"' in page(agent_client).content.decode()


def test_customer_html_is_never_inline_but_in_a_sandboxed_frame(agent_client, api_channel):
    conversation = receive(
        api_channel,
        "Hello there",
        html="<p>Hello <b>there</b></p><script>alert('pwned')</script><img src=x onerror=alert(1)>",
        external_id="c1",
    )
    message = conversation.messages.get()

    html = page(agent_client).content.decode()

    assert "pwned" not in html
    assert "onerror" not in html
    assert '<iframe class="msg-frame"' in html
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in html
    assert f"/t/rowery/c/1/messages/{message.pk}/html/" in html


def test_customer_text_is_escaped(agent_client, api_channel):
    receive(api_channel, "<script>alert('x')</script>", name="<img src=x onerror=alert(1)>", external_id="c1")

    html = page(agent_client).content.decode()

    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert" in html


def test_attachments_are_download_links(agent_client, api_channel):
    receive(
        api_channel,
        "Receipt attached",
        attachments=[InboundAttachment("paragon.pdf", "application/pdf", b"%PDF-1.4")],
        external_id="c1",
    )

    response = page(agent_client)

    assert "paragon.pdf" in text_of(response)
    assert 'href="/t/rowery/attachments/' in response.content.decode()


def test_the_customer_panel_shows_identities_language_preference_and_history(
    agent_client, tenant, api_channel
):
    form = ChannelFactory(tenant=tenant, kind="form", name="Contact form")
    earlier = receive(form, "Old question", email="jan@example.org", name="Jan Kowalski")
    conversation = receive(api_channel, "New question", email="jan@example.org", external_id="cust-7")
    customer = conversation.customer
    customer.language = "pl"
    customer.preferred_reply_channel = form
    customer.attributes = {"segment": "vip", "orders": 12}
    customer.save()

    text = text_of(page(agent_client, conversation.number))

    for expected in ["jan@example.org", "cust-7", "pl", "Contact form", "segment", "vip", "orders", "12"]:
        assert expected in text
    assert f"#{earlier.number} Old question" in text


def test_the_composer_offers_the_channels_that_can_reach_the_customer(agent_client, tenant, api_channel):
    form = ChannelFactory(tenant=tenant, kind="form", name="Contact form")
    conversation = receive(api_channel, "Hi", email="jan@example.org", external_id="cust-7")
    conversation.reply_channel = form
    conversation.save()

    html = page(agent_client, conversation.number).content.decode()

    reply_select = html.split('id="reply-channel"', 1)[1].split("</select>", 1)[0]
    assert f'<option value="{form.pk}" selected>Contact form → jan@example.org' in reply_select
    assert f'<option value="{api_channel.pk}">' in reply_select


def test_a_customer_nobody_can_reach_still_gets_notes(agent_client, tenant):
    conversation = receive(ChannelFactory(tenant=tenant, kind="api"), "Hi", email="only@example.org")

    text = text_of(page(agent_client, conversation.number))

    assert "No channel can reach this customer" in text
    assert "Add note" in text


def test_snoozed_conversations_say_until_when(agent_client, agent, conversation):
    do_snooze(agent, conversation, timezone.now() + dt.timedelta(days=3))

    assert "Snoozed until" in text_of(page(agent_client))


def test_times_are_shown_in_the_viewers_time_zone(agent_client, agent, conversation):
    moment = dt.datetime(2024, 3, 5, 12, 0, tzinfo=dt.UTC)
    Message.objects.filter(conversation=conversation).update(created_at=moment)
    agent.user.time_zone = "Asia/Tokyo"
    agent.user.save()

    html = page(agent_client).content.decode()
    assert re.search(r'datetime="2024-03-05T21:00:00\+09:00" title="[^"]*21:00 \(JST\)"', html)


def test_the_page_marks_the_conversation_for_live_updates(agent_client, conversation):
    html = page(agent_client).content.decode()

    assert 'data-conversation="1"' in html
    assert 'data-regions-url="/t/rowery/c/1/regions/"' in html
    assert "desk/realtime.js" in html
    for testid in [
        "timeline",
        "composer",
        "send-button",
        "assign-control",
        "status-control",
        "collision-banner",
    ]:
        assert f'data-testid="{testid}"' in html


def test_fragments_for_live_refresh(agent_client, conversation):
    regions = agent_client.get("/t/rowery/c/1/regions/")
    timeline = agent_client.get("/t/rowery/c/1/timeline/")

    assert regions.status_code == timeline.status_code == 200
    for region in ['id="conv-header"', 'id="timeline"', 'id="side-panel"']:
        assert region in regions.content.decode()
    assert "Where is my order 1234?" in text_of(timeline)
    assert "<html" not in timeline.content.decode()


def test_an_unknown_conversation_is_404(agent_client):
    assert agent_client.get("/t/rowery/c/999/").status_code == 404


def test_live_updates_resume_after_the_newest_event_seen_when_the_page_was_made(agent_client, conversation):
    html = page(agent_client).content.decode()

    newest = Event.objects.order_by("-id").first()
    assert html.count("data-last-event=") == 1
    assert f'data-last-event="{newest.pk}"' in html


def test_a_long_thread_opens_on_its_newest_messages_and_shows_all_on_request(
    agent_client, agent, conversation, monkeypatch
):
    monkeypatch.setattr("frontdesk.desk.views.conversation.TIMELINE_FIRST", 5)
    for i in range(7):
        do_add_note(agent, conversation, f"Note number {i}")

    first = page(agent_client).content.decode()
    everything = agent_client.get("/t/rowery/c/1/?all=1").content.decode()

    assert first.count('data-testid="message"') == 5
    assert "Note number 6" in first and "Note number 1" not in first
    assert "Show all 8 messages" in first
    assert 'data-regions-url="/t/rowery/c/1/regions/"' in first
    assert everything.count('data-testid="message"') == 8
    assert "Note number 1" in everything and "Show all" not in everything
    # Live refreshes of the expanded page keep showing everything.
    assert 'data-regions-url="/t/rowery/c/1/regions/?all=1"' in everything
    regions = agent_client.get("/t/rowery/c/1/regions/?all=1").content.decode()
    assert regions.count('data-testid="message"') == 8
