"""Working without the mouse, and working on a phone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.factories import ChannelFactory, receive

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def three_conversations(agent):  # type: ignore[no-untyped-def]
    channel = ChannelFactory(tenant=agent.tenant, kind="api", name="Shop backend")
    return [
        receive(
            channel, f"Question {n}", subject=f"Topic {n}", email=f"c{n}@example.org", external_id=f"c-{n}"
        )
        for n in (1, 2, 3)
    ]


def assert_fits_the_screen(page) -> None:  # type: ignore[no-untyped-def]
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"the page scrolls sideways: {width[0]} px wide on a {width[1]} px screen"


def assert_within_reach(page, locator) -> None:  # type: ignore[no-untyped-def]
    """Visible, and not cut off at the sides once scrolled to."""
    locator.scroll_into_view_if_needed()
    expect(locator).to_be_visible()
    expect(locator).to_be_in_viewport()
    box = locator.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= page.viewport_size["width"]


def test_keyboard_shortcuts_move_through_the_inbox_open_and_reply(open_as, agent):
    conversations = three_conversations(agent)
    newest_first = [c.number for c in reversed(conversations)]
    page = open_as(agent)
    page.goto(f"/t/{agent.tenant.slug}/?view=all")
    rows = page.get_by_test_id("inbox-row")
    expect(rows).to_have_count(3)
    selected = page.locator(".inbox-row.is-selected")
    expect(selected).to_have_attribute("data-number", str(newest_first[0]))

    page.keyboard.press("j")
    expect(selected).to_have_attribute("data-number", str(newest_first[1]))
    page.keyboard.press("j")
    page.keyboard.press("j")  # the last row stays selected
    expect(selected).to_have_attribute("data-number", str(newest_first[2]))
    page.keyboard.press("k")
    expect(selected).to_have_attribute("data-number", str(newest_first[1]))

    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/c/{newest_first[1]}/$"))

    page.keyboard.press("r")
    reply = page.get_by_test_id("reply-text")
    expect(reply).to_be_focused()
    # Letters typed into the reply are text, not shortcuts.
    page.keyboard.type("jk?")
    expect(reply).to_have_value("jk?")
    expect(page).to_have_url(re.compile(rf"/c/{newest_first[1]}/$"))
    expect(page.get_by_test_id("shortcuts-help")).to_be_hidden()

    page.keyboard.press("Escape")
    expect(reply).not_to_be_focused()
    page.keyboard.press("?")
    help_overlay = page.get_by_test_id("shortcuts-help")
    expect(help_overlay).to_be_visible()
    expect(help_overlay).to_contain_text("Keyboard shortcuts")
    page.keyboard.press("Escape")
    expect(help_overlay).to_be_hidden()

    # n writes an internal note; Ctrl+Enter saves it.
    page.keyboard.press("n")
    note = page.get_by_test_id("note-text")
    expect(note).to_be_focused()
    page.keyboard.type("Checked with the warehouse")
    page.keyboard.press("Control+Enter")
    saved = page.get_by_test_id("message").filter(has_text="Checked with the warehouse")
    expect(saved).to_have_attribute("data-direction", "note")
    expect(note).to_have_value("")

    page.keyboard.press("Escape")  # leave the field, then "g i" goes to the inbox
    page.keyboard.press("g")
    page.keyboard.press("i")
    expect(page).to_have_url(re.compile(rf"/t/{agent.tenant.slug}/$"))
    page.keyboard.press("j")
    page.keyboard.press("o")
    expect(page).to_have_url(re.compile(r"/c/\d+/$"))


def test_on_a_phone_the_inbox_and_a_conversation_fit_and_a_reply_goes_out(open_as, peer, agent):
    channel = ChannelFactory(
        tenant=agent.tenant, kind="api", name="Shop backend", config={"webhook_url": f"{peer.url}/replies"}
    )
    receive(
        channel,
        "A long question about a very-long-word-without-any-spaces-"
        + "x" * 120
        + " and https://shop.example/a/very/long/address/that/does/not/wrap/anywhere/at/all/really",
        subject="A subject long enough to need more than one line on a small phone screen",
        external_id="c-1",
        name="Konstantynopolitańczykowianeczka Brzęczyszczykiewicz",
    )
    page = open_as(agent, **PHONE)
    page.goto(f"/t/{agent.tenant.slug}/")
    row = page.get_by_test_id("inbox-row")
    expect(row).to_have_count(1)
    assert_fits_the_screen(page)
    assert_within_reach(page, row)
    assert_within_reach(page, page.get_by_role("searchbox", name="Search conversations"))
    page.get_by_role("button", name="Menu").click()
    assert_within_reach(
        page, page.get_by_role("navigation", name="Main").get_by_role("link", name="Customers")
    )
    page.get_by_role("button", name="Menu").click()

    row.click()
    expect(page.get_by_test_id("conversation-subject")).to_be_visible()
    assert_fits_the_screen(page)
    assert_within_reach(page, page.get_by_test_id("assign-to-me"))
    assert_within_reach(page, page.get_by_test_id("resolve"))

    page.get_by_test_id("assign-to-me").click()
    expect(page.get_by_test_id("timeline-event").filter(has_text="took the conversation")).to_be_attached()

    reply = page.get_by_test_id("reply-text")
    assert_within_reach(page, reply)
    reply.fill("Odpowiadam z telefonu.")
    send = page.get_by_test_id("send-button")
    assert_within_reach(page, send)
    send.click()
    sent = page.get_by_test_id("message").filter(has_text="Odpowiadam z telefonu.")
    expect(sent).to_be_attached()
    peer.wait_for(lambda r: b"Odpowiadam z telefonu." in r.body)
    expect(sent.get_by_test_id("delivery-state")).to_have_attribute("data-state", "sent")
    assert_fits_the_screen(page)

    # The details (status, assignee) are one tap away.
    page.get_by_role("link", name="Details").click()
    status = page.get_by_test_id("status-select")
    assert_within_reach(page, status)
    status.select_option("resolved")
    expect(page.get_by_test_id("status-badge")).to_have_text("Resolved")
    assert_fits_the_screen(page)
