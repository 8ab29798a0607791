"""The search box in a real browser: by reference number, by the customer's email, by a word."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.factories import ChannelFactory, receive

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def search(page, words: str) -> None:  # type: ignore[no-untyped-def]
    box = page.get_by_role("searchbox", name="Search conversations")
    box.fill(words)
    box.press("Enter")
    expect(page.get_by_test_id("search-page")).to_be_visible()


def test_the_search_box_finds_a_conversation_by_number_email_and_word(open_as, agent, other_tenant):
    channel = ChannelFactory(tenant=agent.tenant, kind="api", name="Shop backend")
    saddle = receive(
        channel,
        "The saddle of my bike squeaks terribly.",
        subject="Squeaky saddle",
        email="marta@example.org",
        name="Marta Zielińska",
        external_id="m-1",
    )
    receive(
        channel,
        "Where is the invoice?",
        subject="Invoice",
        email="piotr@example.org",
        name="Piotr",
        external_id="p-1",
    )
    # Another shop's conversation with the same word never shows up here.
    receive(ChannelFactory(tenant=other_tenant, kind="api"), "My saddle squeaks too", subject="Other shop")
    page = open_as(agent)
    page.goto(f"/t/{agent.tenant.slug}/")

    search(page, f"#{saddle.number}")
    hits = page.get_by_test_id("search-hit")
    expect(hits).to_have_count(1)
    expect(hits.first).to_have_attribute("data-number", str(saddle.number))
    expect(hits.first).to_contain_text("found by number")

    search(page, "marta@example.org")
    expect(hits).to_have_count(1)
    expect(hits.first).to_contain_text("Marta Zielińska")
    expect(hits.first.locator("mark").filter(has_text=re.compile("^marta@example.org$"))).to_be_visible()

    search(page, "squeaks")
    expect(hits).to_have_count(1)
    expect(hits.first).to_contain_text("Squeaky saddle")
    expect(hits.first.get_by_test_id("search-snippet").locator("mark")).to_have_text("squeaks")
    expect(hits.first.get_by_test_id("search-snippet")).to_contain_text(
        "The saddle of my bike squeaks terribly"
    )

    hits.first.click()
    expect(page).to_have_url(re.compile(rf"/t/{agent.tenant.slug}/c/{saddle.number}/"))
    expect(page.get_by_test_id("conversation-subject")).to_have_text("Squeaky saddle")


def test_a_search_without_results_says_so(open_as, agent):
    page = open_as(agent)
    page.goto(f"/t/{agent.tenant.slug}/")
    page.keyboard.press("/")
    expect(page.get_by_role("searchbox", name="Search conversations")).to_be_focused()
    page.keyboard.type("hulajnoga")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("search-no-results")).to_contain_text("Nothing found for “hulajnoga”")
