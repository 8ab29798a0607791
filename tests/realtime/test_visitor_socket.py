"""The chat widget's WebSocket, driven in-process the way widget.js drives it (docs/chat.md)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from django.utils import timezone

from frontdesk.asgi import application
from frontdesk.desk.actions.chat import do_mark_read_by_agent
from frontdesk.desk.actions.conversations import do_add_note, do_reply
from frontdesk.desk.models import Conversation, Message
from tests.channels.chat.conftest import SHOP_ORIGIN, Browser
from tests.factories import ChannelFactory

from .conftest import AgentSocket, agent_socket, db, login_cookie, run

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def chat_channel(tenant):  # type: ignore[no-untyped-def]
    return ChannelFactory(tenant=tenant, kind="chat", name="Chat", config={"allowed_origins": [SHOP_ORIGIN]})


@pytest.fixture
def browser(chat_channel):  # type: ignore[no-untyped-def]
    visitor = Browser(chat_channel)
    assert visitor.start().status_code == 200
    return visitor


class VisitorSocket(AgentSocket):
    # Generous: a busy CI machine runs browsers beside these; a message that never comes still fails.
    async def next(self, timeout: float = 10.0) -> dict[str, Any]:
        return await super().next(max(timeout, 10.0))

    async def next_of(self, kind: str, timeout: float = 10.0) -> dict[str, Any]:
        return await super().next_of(kind, max(timeout, 10.0))

    async def say(self, text: str, client_id: str | None = None, **extra: Any) -> dict[str, Any]:
        client_id = client_id or uuid.uuid4().hex
        await self.send({"type": "message", "client_id": client_id, "text": text, **extra})
        ack = await self.next_of("ack")
        assert ack["client_id"] == client_id
        return ack["message"]


@asynccontextmanager
async def visitor_socket(
    channel: Any, token: str | None, *, after: int = 0, origin: str = SHOP_ORIGIN, hello: bool = True
) -> AsyncIterator[VisitorSocket]:
    from asgiref.testing import ApplicationCommunicator

    scope = {
        "type": "websocket",
        "path": f"/ws/chat/{channel.public_id}/",
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1:8000"), (b"origin", origin.encode())],
        "subprotocols": [],
        "client": ("127.0.0.1", 50000),
    }
    communicator = ApplicationCommunicator(application, scope)
    await communicator.send_input({"type": "websocket.connect"})
    answer = await communicator.receive_output(5)
    assert answer["type"] == "websocket.accept"
    socket = VisitorSocket(communicator)
    try:
        if hello:
            await socket.send(
                {"type": "hello", "token": token, "after": after, "page": {"url": f"{origin}/x"}}
            )
        yield socket
    finally:
        await communicator.send_input({"type": "websocket.disconnect", "code": 1000})
        await communicator.wait(5)


def test_a_visitor_message_is_acknowledged_once_stored_and_reaches_the_agents_socket(browser, agent):
    async def scenario() -> None:
        async with agent_socket(await db(login_cookie)(agent)) as agent_page:
            await agent_page.next_of("hello")
            async with visitor_socket(browser.channel, browser.token) as widget:
                welcome = await widget.next_of("welcome")
                assert welcome["visitor"] == browser.session["visitor"]
                message = await widget.say("Czy macie kask w rozmiarze M?")
                stored = await db(Message.objects.get)(pk=message["id"])
                assert stored.text == "Czy macie kask w rozmiarze M?"
                assert message["from"] == "visitor"
                events = await agent_page.events_until(lambda e: e["kind"] == "message.created")
                assert events[-1]["data"]["message"] == message["id"]

    run(scenario)


def test_the_same_client_id_sent_again_is_acknowledged_with_the_first_message(browser, agent):
    async def scenario() -> None:
        async with visitor_socket(browser.channel, browser.token) as widget:
            await widget.next_of("welcome")
            first = await widget.say("Halo?", client_id="retry-0001")
            again = await widget.say("Halo?", client_id="retry-0001")
            assert again["id"] == first["id"]
        assert await db(Message.objects.filter(text="Halo?").count)() == 1

    run(scenario)


def test_an_agents_reply_is_pushed_to_the_visitor_but_an_internal_note_never_is(browser, agent):
    async def scenario() -> None:
        async with visitor_socket(browser.channel, browser.token) as widget:
            await widget.next_of("welcome")
            await widget.say("Dzień dobry")
            conversation = await db(Conversation.objects.get)()
            await db(do_add_note)(agent, conversation, "Klient VIP, uważaj")
            await db(do_reply)(agent, conversation, "Dzień dobry, w czym pomóc?")
            pushed = await widget.next_of("message")
            assert pushed["message"]["text"] == "Dzień dobry, w czym pomóc?"
            assert pushed["message"]["author"]["name"] == "Anna Agent"
            await widget.send({"type": "ping"})
            rest = []
            for _ in range(10):
                frame = await widget.next()
                if frame["type"] == "pong":
                    break
                rest.append(frame)
            assert not [f for f in rest if f["type"] == "message"]

    run(scenario)


def test_reconnecting_with_after_sends_only_what_the_widget_lacks_in_order(browser, agent):
    browser.say("Pierwsza")
    conversation = Conversation.objects.get()
    first = Message.objects.get()
    do_reply(agent, conversation, "Odpowiedź 1")
    do_reply(agent, conversation, "Odpowiedź 2")
    # Messages of the last seconds are sent again on purpose (a smaller id may commit after a larger
    # one on PostgreSQL; the widget drops ids it has): these are older.
    Message.objects.update(created_at=timezone.now() - dt.timedelta(minutes=1))

    async def scenario() -> None:
        async with visitor_socket(browser.channel, browser.token, after=first.pk) as widget:
            await widget.next_of("welcome")
            texts = [(await widget.next_of("message"))["message"]["text"] for _ in range(2)]
            assert texts == ["Odpowiedź 1", "Odpowiedź 2"]

    run(scenario)


def test_typing_goes_both_ways(browser, agent):
    browser.say("Pytanie")
    number = Conversation.objects.get().number

    async def scenario() -> None:
        async with agent_socket(await db(login_cookie)(agent)) as agent_page:
            await agent_page.next_of("hello")
            async with visitor_socket(browser.channel, browser.token) as widget:
                await widget.next_of("welcome")
                await widget.send({"type": "typing", "state": True})
                typing = await agent_page.next_of("typing")
                assert typing == {"type": "typing", "conversation": number, "who": "customer", "state": True}
                await agent_page.send({"type": "presence", "conversation": number, "state": "replying"})
                seen = await widget.next_of("typing")
                assert seen == {"type": "typing", "conversation": number, "name": "Anna Agent", "state": True}
                await agent_page.send({"type": "presence", "conversation": number, "state": "viewing"})
                assert (await widget.next_of("typing"))["state"] is False

    run(scenario)


def test_read_receipts_go_both_ways(browser, agent):
    browser.say("Pytanie")
    conversation = Conversation.objects.get()
    reply = do_reply(agent, conversation, "Odpowiedź")

    async def scenario() -> None:
        async with visitor_socket(browser.channel, browser.token) as widget:
            await widget.next_of("welcome")
            await widget.send({"type": "read", "up_to": reply.pk})
            await db(do_mark_read_by_agent)(agent, conversation)
            read = await widget.next_of("read")
            assert read["conversation"] == conversation.number

    run(scenario)
    reply.refresh_from_db()
    assert reply.read_at is not None


def test_another_visitor_hears_nothing_of_this_one(browser, agent, chat_channel):
    other = Browser(chat_channel)
    other.start()

    async def scenario() -> None:
        async with visitor_socket(chat_channel, other.token) as eavesdropper:
            await eavesdropper.next_of("welcome")
            async with visitor_socket(chat_channel, browser.token) as widget:
                await widget.next_of("welcome")
                await widget.say("Mój adres to ul. Długa 5")
            await eavesdropper.send({"type": "ping"})
            assert (await eavesdropper.next())["type"] == "pong"

    run(scenario)


def test_a_bad_token_or_a_foreign_origin_closes_the_socket(browser):
    async def scenario() -> None:
        async with visitor_socket(browser.channel, "x" * 43) as widget:
            assert await widget.close_code() == 4401
        async with visitor_socket(
            browser.channel, browser.token, origin="https://evil.example", hello=False
        ) as w:
            assert await w.close_code() == 4403

    run(scenario)
