"""The public contact form in a real browser, and the conversation it opens in the agents' inbox."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.factories import ChannelFactory

from .conftest import mark_document, same_document

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_visitor_sends_the_form_and_an_agent_sees_the_conversation_arrive(new_page, open_as, agent):
    # min_seconds=0: the test types faster than the spam check allows people to.
    channel = ChannelFactory(
        tenant=agent.tenant,
        kind="form",
        name="Contact form",
        config={"title": "Write to Sklep Rowerowy", "min_seconds": 0},
    )
    inbox = open_as(agent)
    inbox.goto(f"/t/{agent.tenant.slug}/?view=all")
    expect(inbox.get_by_test_id("inbox-empty")).to_be_visible()
    mark_document(inbox)

    visitor = new_page(width=390, height=844)
    visitor.goto(f"/f/{channel.public_id}/")
    expect(visitor.get_by_role("heading", level=1)).to_have_text("Write to Sklep Rowerowy")
    visitor.get_by_label("Your name").fill("Zofia Nowak")
    visitor.get_by_label("Email address").fill("zofia@")
    visitor.get_by_label("Subject").fill("Wrong size")
    visitor.get_by_label("Your message").fill("The frame I got is size M, I ordered L.")
    visitor.get_by_role("button", name="Send message").click()

    # A mistake keeps what she wrote and says what to fix.
    expect(visitor.get_by_role("alert")).to_contain_text("Please correct the fields marked below.")
    expect(visitor.get_by_label("Email address")).to_have_attribute("aria-invalid", "true")
    expect(visitor.get_by_label("Your message")).to_have_value("The frame I got is size M, I ordered L.")
    visitor.get_by_label("Email address").fill("zofia@example.org")
    visitor.get_by_role("button", name="Send message").click()

    expect(visitor.get_by_role("heading", level=1)).to_have_text("Thank you, we have your message.")
    number = visitor.locator(".reference .number").inner_text()
    assert re.fullmatch(r"#\d+", number)
    expect(visitor.get_by_role("status")).to_contain_text("zofia@example.org")

    # The agent's open inbox shows it without a reload.
    row = inbox.get_by_test_id("inbox-row")
    expect(row).to_have_count(1)
    expect(row).to_have_attribute("data-number", number.lstrip("#"))
    expect(row).to_contain_text("Zofia Nowak")
    expect(row).to_contain_text("Wrong size")
    assert same_document(inbox)
    row.click()
    expect(inbox.get_by_test_id("timeline")).to_contain_text("The frame I got is size M, I ordered L.")
    expect(inbox.get_by_test_id("customer-identities")).to_contain_text("zofia@example.org")
