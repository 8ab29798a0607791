"""Talking to the agent WebSocket in-process, the way a browser does: session cookie and Origin.

Tests are plain functions that run an async scenario with `run(...)` (no pytest-asyncio needed);
database work inside a scenario goes through `db(...)`, which runs it on the test's own thread.
The socket is driven with asgiref's ApplicationCommunicator (channels.testing would need daphne).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.test import Client

from frontdesk.asgi import application
from frontdesk.desk.models import Membership

db = database_sync_to_async


def _outside_any_loop(call: Callable[[], None]) -> None:
    """Run `call` here, or — when an event loop already runs in this thread (Playwright's, after a
    browser test in the same process) — on a thread of its own, where async_to_sync can work."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        call()
        return
    failures: list[BaseException] = []

    def target() -> None:
        try:
            call()
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(timeout=300)
    assert not thread.is_alive(), "the scenario did not finish within 300 s"
    if failures:
        raise failures[0]


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    _outside_any_loop(async_to_sync(scenario))


def login_cookie(member: Membership) -> str:
    """The session cookie of a browser in which this member signed in."""
    client = Client()
    client.force_login(member.user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


class Closed(AssertionError):
    def __init__(self, code: int | None) -> None:
        super().__init__(f"the server closed the socket with code {code}")
        self.code = code


class AgentSocket:
    def __init__(self, communicator: ApplicationCommunicator) -> None:
        self.communicator = communicator

    async def next(self, timeout: float = 3.0) -> dict[str, Any]:
        output = await self.communicator.receive_output(timeout)
        if output["type"] == "websocket.close":
            raise Closed(output.get("code"))
        return json.loads(output["text"])

    async def next_of(self, kind: str, timeout: float = 3.0) -> dict[str, Any]:
        """The next message of this type, skipping others (at most 200 of them, within `timeout`)."""
        deadline = time.monotonic() + timeout
        for _ in range(200):
            message = await self.next(max(deadline - time.monotonic(), 0.01))
            if message["type"] == kind:
                return message
        raise AssertionError(f"no {kind!r} message among the next 200")

    async def events_until(self, last: Callable[[dict[str, Any]], bool], timeout: float = 3.0) -> list[dict]:
        """Every event received up to and including the first one for which `last` is true."""
        events: list[dict] = []
        deadline = time.monotonic() + timeout
        for _ in range(500):
            message = await self.next_of("event", max(deadline - time.monotonic(), 0.01))
            events.append(message["event"])
            if last(message["event"]):
                return events
        raise AssertionError("the awaited event never came")

    async def replayed(self) -> list[dict]:
        """The events the server sent right after the hello, up to the answer to a ping.

        The replay happens while connecting, before any frame from the client is read, so every
        replayed event comes before the pong.
        """
        await self.send({"type": "ping"})
        events: list[dict] = []
        for _ in range(1000):
            message = await self.next()
            if message["type"] == "pong":
                return events
            if message["type"] == "event":
                events.append(message["event"])
        raise AssertionError("no pong")

    async def send(self, message: dict[str, Any]) -> None:
        await self.send_text(json.dumps(message))

    async def send_text(self, text: str) -> None:
        await self.communicator.send_input({"type": "websocket.receive", "text": text})

    async def close_code(self, timeout: float = 3.0) -> int | None:
        try:
            for _ in range(100):
                await self.next(timeout)
        except Closed as closed:
            return closed.code
        raise AssertionError("the socket stayed open")


@asynccontextmanager
async def agent_socket(
    cookie: str | None,
    slug: str = "rowery",
    *,
    query: str = "",
    origin: str = "http://127.0.0.1:8000",
) -> AsyncIterator[AgentSocket]:
    headers = [(b"host", b"127.0.0.1:8000"), (b"origin", origin.encode())]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    scope = {
        "type": "websocket",
        "path": f"/ws/t/{slug}/",
        "query_string": query.lstrip("?").encode(),
        "headers": headers,
        "subprotocols": [],
    }
    communicator = ApplicationCommunicator(application, scope)
    await communicator.send_input({"type": "websocket.connect"})
    answer = await communicator.receive_output(5)
    if answer["type"] == "websocket.close":
        await communicator.send_input({"type": "websocket.disconnect", "code": answer.get("code", 1000)})
        await communicator.wait(5)
        raise Closed(answer.get("code"))
    assert answer["type"] == "websocket.accept"
    try:
        yield AgentSocket(communicator)
    finally:
        await communicator.send_input({"type": "websocket.disconnect", "code": 1000})
        await communicator.wait(5)


def _flush_channel_layer() -> None:
    _outside_any_loop(async_to_sync(get_channel_layer().flush))


@pytest.fixture(autouse=True)
def _empty_channel_layer() -> Iterator[None]:
    """Each test starts with no groups left over from another one."""
    _flush_channel_layer()
    yield
    _flush_channel_layer()
