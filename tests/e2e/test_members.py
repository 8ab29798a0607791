"""Bringing the team in: an admin invites by email, the invitee joins from the link. And people of
another shop find nothing of this one."""

from __future__ import annotations

import email
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.factories import ChannelFactory, receive

from .conftest import ServerProcess, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def mails_to(server: ServerProcess, address: str) -> list[email.message.Message]:
    """Mail the server sent to `address` (its file backend writes one file per connection)."""
    found = []
    folder = Path(server.var_dir) / "mail"
    for path in sorted(folder.glob("*.log")) if folder.exists() else []:
        # Messages in one file are separated by a line of 79 dashes.
        for chunk in path.read_bytes().split(b"-" * 79 + b"\n"):
            if chunk.strip():
                message = email.message_from_bytes(chunk.lstrip(b"\n"))
                if address in (message["To"] or ""):
                    found.append(message)
    return found


def text_of(message: email.message.Message) -> str:
    part = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode(part.get_content_charset() or "utf-8")


def test_an_admin_invites_a_member_who_joins_from_the_emailed_link(open_as, new_page, server, owner):
    admin = open_as(owner)
    admin.goto(f"/t/{owner.tenant.slug}/settings/members/")
    admin.get_by_label("Email address").fill("Nowa.Osoba@Rowery.example")
    admin.get_by_label("Role").select_option("agent")
    admin.get_by_role("button", name="Send invitation").click()
    expect(admin.get_by_role("status")).to_contain_text(
        "An invitation is on its way to nowa.osoba@rowery.example"
    )
    expect(admin.locator("table.invitations")).to_contain_text("nowa.osoba@rowery.example")

    [mail] = mails_to(server, "nowa.osoba@rowery.example")
    assert "Sklep Rowerowy" in mail["Subject"]
    link = re.search(rf"{re.escape(server.url)}/invitations/[^/\s]+/", text_of(mail))
    assert link, text_of(mail)

    invitee = new_page()
    invitee.goto(link.group(0))
    expect(invitee.get_by_role("heading", level=1)).to_have_text("Join Sklep Rowerowy")
    invitee.get_by_label("Your name").fill("Nowa Osoba")
    invitee.get_by_label("Choose a password").fill("short")
    invitee.get_by_role("button", name="Create my account and join").click()
    # A weak password is refused with the reason, and nothing is lost.
    expect(invitee.locator(".has-error")).to_contain_text("too short")
    expect(invitee.get_by_label("Your name")).to_have_value("Nowa Osoba")
    invitee.get_by_label("Choose a password").fill("rower-górski-2025")
    invitee.get_by_role("button", name="Create my account and join").click()

    expect(invitee).to_have_url(re.compile(rf"/t/{owner.tenant.slug}/$"))
    expect(invitee.get_by_role("status")).to_contain_text("Welcome to Sklep Rowerowy! You joined as Agent.")
    expect(invitee.get_by_role("button", name="Nowa Osoba")).to_be_visible()

    # The link works once; the new password signs her in.
    again = new_page()
    again.goto(link.group(0))
    expect(again.locator("body")).to_contain_text("no longer valid")
    log_in(again, "nowa.osoba@rowery.example", "rower-górski-2025")
    expect(again).to_have_url(re.compile(rf"/t/{owner.tenant.slug}/$"))

    admin.reload()
    expect(admin.locator("table.members")).to_contain_text("Nowa Osoba")


def test_a_member_of_another_shop_gets_the_not_found_page(open_as, agent, outsider):
    channel = ChannelFactory(tenant=agent.tenant, kind="api", name="Shop backend")
    conversation = receive(channel, "Secret order details", subject="Private matter", external_id="c-1")
    page = open_as(outsider)

    for path in (
        f"/t/{agent.tenant.slug}/c/{conversation.number}/",
        f"/t/{agent.tenant.slug}/",
        f"/t/{agent.tenant.slug}/search/?q=secret",
        f"/t/{agent.tenant.slug}/customers/{conversation.customer_id}/",
    ):
        response = page.goto(path)
        assert response is not None
        assert response.status == 404, path
        expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
        expect(page.locator("body")).not_to_contain_text("Private matter")
        expect(page.locator("body")).not_to_contain_text("Sklep Rowerowy")

    # The way back leads to her own shop.
    page.get_by_role("link", name="Go to your inbox").click()
    expect(page).to_have_url(re.compile(rf"/t/{outsider.tenant.slug}/$"))
