"""An agent's day in a real browser: the inbox, a conversation, a reply that reaches the shop's
webhook, assignment and status, and what arrives live from colleagues and customers."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from frontdesk.channels.signing import SIGNATURE_HEADER, verify
from frontdesk.desk.models import Role
from tests.factories import PASSWORD, ChannelFactory, MembershipFactory, receive

from .conftest import log_in, mark_document, post_to_hook, same_document

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_agent_works_a_conversation_from_the_inbox_to_a_delivered_reply(new_page, peer, agent, owner):
    channel = ChannelFactory(
        tenant=agent.tenant, kind="api", name="Shop backend", config={"webhook_url": f"{peer.url}/replies"}
    )
    parcel = receive(channel, "Gdzie jest moja paczka?", subject="Parcel", external_id="c-1", name="Jan")
    receive(
        channel,
        "Do you sell helmets?",
        subject="Helmets",
        external_id="c-2",
        name="Ewa",
        email="ewa@example.org",
    )
    page = new_page()

    log_in(page, agent.user.email, PASSWORD)

    # Nothing is assigned to Anna yet: the inbox opens on the unassigned conversations.
    expect(page.get_by_test_id("view-unassigned")).to_have_attribute("aria-current", "page")
    rows = page.get_by_test_id("inbox-row")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="Helmets")).to_be_visible()

    rows.filter(has_text="Parcel").click()
    expect(page).to_have_url(re.compile(rf"/c/{parcel.number}/$"))
    expect(page.get_by_test_id("conversation-subject")).to_have_text("Parcel")
    expect(page.get_by_test_id("timeline")).to_contain_text("Gdzie jest moja paczka?")

    # The shop's endpoint takes its time: the reply shows as queued until it answers.
    peer.hold()
    page.get_by_test_id("reply-text").fill("Wysłaliśmy ją wczoraj, numer przesyłki 123.")
    page.get_by_test_id("send-button").click()
    reply = page.get_by_test_id("message").filter(has_text="numer przesyłki 123")
    expect(reply.get_by_test_id("delivery-state")).to_have_attribute("data-state", "queued")
    expect(page.get_by_test_id("reply-text")).to_have_value("")
    mark_document(page)

    [webhook] = peer.wait_for(lambda r: r.path == "/replies")
    verify(channel.secrets["signing_secret"], webhook.body, webhook.headers[SIGNATURE_HEADER.lower()])
    sent = json.loads(webhook.body)
    assert sent["message"]["text"] == "Wysłaliśmy ją wczoraj, numer przesyłki 123."
    assert sent["customer"]["external_id"] == "c-1"
    assert sent["conversation"]["number"] == parcel.number
    peer.release()
    # The worker's success reaches the open page without a reload.
    expect(reply.get_by_test_id("delivery-state")).to_have_attribute("data-state", "sent")
    expect(reply.get_by_test_id("delivery-state")).to_contain_text("Sent")
    assert same_document(page)

    # Hand it over to Olga and put it on hold: both show in the thread as what Anna did.
    page.get_by_test_id("assignee-select").select_option(label="Olga Owner")
    events = page.get_by_test_id("timeline-event")
    expect(events.filter(has_text="Anna Agent assigned the conversation to Olga Owner")).to_be_visible()
    page.get_by_test_id("status-select").select_option("on_hold")
    expect(events.filter(has_text="Anna Agent changed the status to On hold")).to_be_visible()
    expect(page.get_by_test_id("status-badge")).to_have_text("On hold")

    # Back in the inbox, the conversation is no longer unassigned.
    page.get_by_test_id("back-to-inbox").click()
    expect(page.get_by_test_id("count-unassigned")).to_have_text("1")
    page.get_by_test_id("view-all").click()
    row = page.get_by_test_id("inbox-row").filter(has_text="Parcel")
    expect(row).to_contain_text("Olga Owner")
    expect(row).to_contain_text("On hold")


def test_what_a_customer_writes_appears_at_once_in_an_open_inbox_and_conversation(open_as, server, agent):
    channel = ChannelFactory(tenant=agent.tenant, kind="api", name="Shop backend")
    receive(channel, "First question", subject="Returns", external_id="c-1", name="Jan Kowalski")
    inbox = open_as(agent)
    inbox.goto(f"/t/{agent.tenant.slug}/?view=all")
    expect(inbox.get_by_test_id("inbox-row")).to_have_count(1)
    mark_document(inbox)

    # A new customer writes through the shop's backend: a new row, without reloading.
    answer = post_to_hook(
        server,
        channel,
        {
            "idempotency_key": "k-1",
            "customer": {"external_id": "c-2", "name": "Ewa Nowak"},
            "subject": "Invoice please",
            "text": "I need an invoice for order 77.",
        },
    )
    new_row = inbox.get_by_test_id("inbox-row").filter(has_text="Invoice please")
    expect(new_row).to_be_visible()
    expect(new_row).to_contain_text("Ewa Nowak")
    expect(inbox.get_by_test_id("count-all")).to_have_text("2")
    assert same_document(inbox)

    # In the conversation, Anna is writing when the customer writes again: her draft stays.
    inbox.get_by_test_id("inbox-row").filter(has_text="Invoice please").click()
    expect(inbox.get_by_test_id("conversation-number")).to_have_text(f"#{answer['conversation']}")
    draft = inbox.get_by_test_id("reply-text")
    draft.fill("Dzień dobry, fakturę wyślemy")
    mark_document(inbox)
    post_to_hook(
        server,
        channel,
        {"idempotency_key": "k-2", "customer": {"external_id": "c-2"}, "text": "Company VAT id 123-456"},
    )
    expect(inbox.get_by_test_id("message").filter(has_text="Company VAT id 123-456")).to_be_visible()
    expect(draft).to_have_value("Dzień dobry, fakturę wyślemy")
    expect(draft).to_be_focused()
    assert same_document(inbox)


def test_an_assignment_made_by_a_colleague_reaches_the_open_inbox(open_as, agent):
    colleague = MembershipFactory(
        tenant=agent.tenant, role=Role.AGENT, user__name="Bartek Kolega", user__email="bartek@rowery.example"
    )
    channel = ChannelFactory(tenant=agent.tenant, kind="api", name="Shop backend")
    conversation = receive(channel, "Broken pedal", subject="Pedal", external_id="c-1")
    anna = open_as(agent)
    anna.goto(f"/t/{agent.tenant.slug}/?view=unassigned")
    expect(anna.get_by_test_id("inbox-row")).to_have_count(1)
    mark_document(anna)

    bartek = open_as(colleague)
    bartek.goto(f"/t/{agent.tenant.slug}/c/{conversation.number}/")
    bartek.get_by_test_id("assign-to-me").click()
    expect(bartek.get_by_test_id("assignee-select")).to_have_value(str(colleague.pk))

    expect(anna.get_by_test_id("inbox-empty")).to_be_visible()
    expect(anna.get_by_test_id("count-unassigned")).to_have_text("0")
    assert same_document(anna)


def test_two_agents_on_one_conversation_see_each_other_viewing_and_replying(open_as, agent, owner):
    channel = ChannelFactory(tenant=agent.tenant, kind="api", name="Shop backend")
    conversation = receive(channel, "Can I return a bike?", subject="Return", external_id="c-1")
    url = f"/t/{agent.tenant.slug}/c/{conversation.number}/"
    anna = open_as(agent)
    olga = open_as(owner)
    anna.goto(url)
    olga.goto(url)

    expect(anna.get_by_test_id("collision-banner")).to_have_text("Olga Owner is viewing")
    expect(olga.get_by_test_id("collision-banner")).to_have_text("Anna Agent is viewing")

    olga.get_by_test_id("reply-text").press_sequentially("Yes, within 14 days")
    expect(anna.get_by_test_id("collision-banner")).to_have_text("Olga Owner is replying…")
    expect(anna.get_by_test_id("collision-banner")).to_have_class(re.compile(r"\bis-replying\b"))

    olga.close()
    expect(anna.get_by_test_id("collision-banner")).to_be_hidden()


def test_a_colleagues_name_is_shown_as_text_in_the_live_warnings(open_as, agent, watch):
    # Invitees choose their own name: it is as untrusted as a customer's.
    name = '<img src=x onerror="alert(1)">Bartek'
    colleague = MembershipFactory(tenant=agent.tenant, role=Role.AGENT, user__name=name)
    channel = ChannelFactory(tenant=agent.tenant, kind="api", name="Shop backend")
    conversation = receive(channel, "Hello", external_id="c-1")
    url = f"/t/{agent.tenant.slug}/c/{conversation.number}/"
    anna = open_as(agent)
    trouble = watch(anna)
    anna.goto(url)
    bartek = open_as(colleague)
    bartek.goto(url)

    bartek.get_by_test_id("reply-text").press_sequentially("Hi")
    expect(anna.get_by_test_id("collision-banner")).to_have_text(f"{name} is replying…")
    bartek.get_by_test_id("assign-to-me").click()
    expect(anna.get_by_test_id("timeline-event").filter(has_text="took the conversation")).to_have_text(
        re.compile(re.escape(f"{name} took the conversation"))
    )
    assert anna.locator("img[src='x']").count() == 0
    assert trouble.dialogs == trouble.errors == trouble.console == []
