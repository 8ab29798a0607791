"""realtime.js in a real browser against `frontdesk serve`: what pages receive, and the collision warning."""

from __future__ import annotations

import json
import os

import httpx
import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from frontdesk.channels.signing import SIGNATURE_HEADER, sign
from tests.e2e.conftest import CHROMIUM, ServerProcess
from tests.factories import ChannelFactory, receive

from .conftest import db, run

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"),
        reason="needs Debian's chromium at /usr/bin/chromium",
    ),
]

# Installed before the page's own scripts: records what realtime.js tells the page.
RECORDER = """
window.__desk = {events: [], presence: [], connection: []};
document.addEventListener("desk:event", (e) => window.__desk.events.push(e.detail));
document.addEventListener("desk:presence", (e) => window.__desk.presence.push(e.detail));
document.addEventListener("desk:connection", (e) => window.__desk.connection.push(e.detail.state));
"""

LAST_VIEWERS = """([number, expected]) => {
  const seen = window.__desk.presence.filter((p) => p.conversation === number);
  if (!seen.length) return expected === "";
  return seen[seen.length - 1].viewers.map((v) => `${v.name}:${v.state}`).join(",") === expected;
}"""


@pytest.fixture
def frontdesk_server(tmp_path):  # type: ignore[no-untyped-def]
    process = ServerProcess(tmp_path, worker_threads=0)
    yield process
    process.stop()


async def _signed_in_page(browser, member, server):  # type: ignore[no-untyped-def]
    client = Client()
    await db(client.force_login)(member.user)
    context = await browser.new_context(base_url=server.url)
    context.set_default_timeout(10_000)
    await context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": server.url,
            }
        ]
    )
    await context.add_init_script(RECORDER)
    return await context.new_page()


def test_two_agents_see_each_other_and_the_customers_new_message(frontdesk_server, agent, owner):
    # Playwright's async API on the scenario's own loop: it cannot clash with a sync Playwright
    # that other browser tests of this process may have running.
    from playwright.async_api import async_playwright

    channel = ChannelFactory(tenant=agent.tenant, kind="api", name="Shop backend")
    conversation = receive(channel, "Gdzie jest moja paczka?", external_id="cust-1")
    number = conversation.number
    url = reverse("conversation", args=[agent.tenant.slug, number])
    secret = channel.secrets["signing_secret"]

    async def scenario() -> None:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-gpu"]
            )
            try:
                anna = await _signed_in_page(browser, agent, frontdesk_server)
                olga = await _signed_in_page(browser, owner, frontdesk_server)
                await check(anna, olga)
            finally:
                await browser.close()

    async def check(anna, olga) -> None:  # type: ignore[no-untyped-def]
        await anna.goto(url)
        await anna.wait_for_function("window.__desk.connection.includes('online')")
        await olga.goto(url)
        await olga.wait_for_function("window.__desk.connection.includes('online')")

        # Each sees the other viewing, at once (not only at the next 15 s renewal).
        await anna.wait_for_function(LAST_VIEWERS, arg=[number, "Olga Owner:viewing"])
        await olga.wait_for_function(LAST_VIEWERS, arg=[number, "Anna Agent:viewing"])

        await olga.evaluate(f"window.deskRealtime.replying({number}, true)")
        await anna.wait_for_function(LAST_VIEWERS, arg=[number, "Olga Owner:replying"])

        # The customer writes again through the shop's backend.
        body = json.dumps(
            {"idempotency_key": "again-1", "customer": {"external_id": "cust-1"}, "text": "Halo?"}
        ).encode()
        async with httpx.AsyncClient(timeout=10) as http:
            answer = await http.post(
                f"{frontdesk_server.url}/hooks/{channel.public_id}/",
                content=body,
                headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(secret, body)},
            )
        assert answer.status_code == 201, answer.text
        message_id = answer.json()["message"]
        find = (
            "(id) => window.__desk.events.find((e) => e.kind === 'message.created' && e.data.message === id)"
        )
        await anna.wait_for_function(find, arg=message_id)
        event = await anna.evaluate(find, message_id)
        assert event["conversation"] == number
        ids = await anna.evaluate("window.__desk.events.map((e) => e.id)")
        assert len(ids) == len(set(ids))  # each event once

        # Olga closes her tab: Anna no longer sees her.
        await olga.close()
        await anna.wait_for_function(LAST_VIEWERS, arg=[number, ""])
        assert await anna.evaluate("window.__desk.presence.at(-1).viewers") == []

    run(scenario)


def test_a_page_offline_while_the_server_restarts_catches_up_on_what_it_missed(
    frontdesk_server, agent, api_channel, tmp_path, monkeypatch
):
    from playwright.async_api import async_playwright

    from tests.e2e import conftest as e2e

    inbox = reverse("inbox", args=[agent.tenant.slug])
    servers = [frontdesk_server]

    def restart() -> None:
        frontdesk_server.stop()
        monkeypatch.setattr(e2e, "free_port", lambda: frontdesk_server.port)  # the same address
        servers.append(ServerProcess(tmp_path / "again", worker_threads=0))

    async def scenario() -> None:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-gpu"]
            )
            try:
                anna = await _signed_in_page(browser, agent, frontdesk_server)
                await anna.goto(inbox)
                await anna.wait_for_function("window.__desk.connection.at(-1) === 'online'")

                await db(frontdesk_server.stop)()
                await anna.wait_for_function("window.__desk.connection.at(-1) === 'offline'")
                # While the page is offline a customer writes.
                conversation = await db(receive)(api_channel, "Written while you were away")
                (tmp_path / "again").mkdir()
                await db(restart)()

                await anna.wait_for_function(
                    "(n) => window.__desk.events.some("
                    "(e) => e.kind === 'message.created' && e.conversation === n)",
                    arg=conversation.number,
                    timeout=30_000,
                )
                assert await anna.evaluate("window.__desk.connection") == ["online", "offline", "online"]
            finally:
                await browser.close()

    try:
        run(scenario)
    finally:
        for server in servers:
            server.stop()
