"""The crash test of the live chat: visitors write over the widget's WebSocket while the server is
killed with SIGKILL at random moments and started again; afterwards every message is stored
exactly once and every visitor holds an ack for each of its messages.

A real `frontdesk serve` process runs against the test database. The test plays the visitors'
browsers the way widget.js behaves: each message gets a client_id when it is written; a message
whose ack has not arrived stays pending; after a dropped socket the widget reconnects with backoff,
says hello with `after` = the largest message id it has, and sends every pending message again
with the same client_id (docs/chat.md, "Ordering and resume"). The operator's worst day: kill -9,
restart on the same port, several times, while messages are in flight.

FRONTDESK_SKIP_CRASH_TEST=1 skips it on a developer machine; CI always runs it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidHandshake, WebSocketException

from frontdesk.desk.actions.inbound import process_raw
from frontdesk.desk.models import ChatVisitor, Message, RawInbound
from tests.database import database_url

from .conftest import SHOP_ORIGIN

log = logging.getLogger(__name__)

VISITORS = int(os.environ.get("FRONTDESK_CHAT_CRASH_VISITORS", "20"))
MESSAGES = int(os.environ.get("FRONTDESK_CHAT_CRASH_MESSAGES", "15"))
KILLS = int(os.environ.get("FRONTDESK_CHAT_CRASH_KILLS", "4"))
# How long the visitors may take, kills and restarts included (each restart takes a few seconds).
CLIENT_SECONDS = float(os.environ.get("FRONTDESK_CHAT_CRASH_SECONDS", "45"))

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        bool(os.environ.get("FRONTDESK_SKIP_CRASH_TEST")) and not os.environ.get("CI"),
        reason="FRONTDESK_SKIP_CRASH_TEST is set",
    ),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ChatServer:
    """`frontdesk serve` in a child process on a fixed port; killed and restarted by the test."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.starts = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "SECRET_KEY": settings.SECRET_KEY,
            "FRONTDESK_ENCRYPTION_KEY": settings.FRONTDESK_ENCRYPTION_KEY,
            "FRONTDESK_VAR_DIR": str(folder / "var"),
            "MEDIA_ROOT": str(folder / "media"),
            "FRONTDESK_BASE_URL": self.url,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            # Twenty visitors on one address, each resending after every restart: the limits for
            # one person's browser are not what this test is about.
            "FRONTDESK_RATE_CHAT_PER_VISITOR": "100000/60",
            "FRONTDESK_RATE_CHAT_PER_IP": "1000000/60",
            "FRONTDESK_RATE_CHAT_SESSION_PER_IP": "100000/60",
            "FRONTDESK_RATE_CHAT_HTTP_PER_IP": "1000000/60",
            "LOG_LEVEL": "WARNING",
            "NO_PROXY": "127.0.0.1,localhost",
            "PYTHONUNBUFFERED": "1",
        }
        for name in ("DJANGO_ALLOW_ASYNC_UNSAFE", "FRONTDESK_TEST_DB_NAME", "REDIS_URL"):
            self.env.pop(name, None)

    def start(self) -> None:
        self.starts += 1
        log_file = (self.folder / f"server-{self.starts}.log").open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "frontdesk", "serve",
                "--host", "127.0.0.1", "--port", str(self.port), "--no-imap",
            ],
            env=self.env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        log_file.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the server exited:\n{self.logs()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1, trust_env=False).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"the server did not answer /healthz:\n{self.logs()}")

    def kill(self) -> None:
        """SIGKILL: no clean-up, no close frames (an OOM kill, a power cut of the process)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def logs(self) -> str:
        parts = []
        for path in sorted(self.folder.glob("server-*.log")):
            parts.append(f"--- {path.name} ---\n" + path.read_text(errors="replace")[-3000:])
        return "\n".join(parts[-3:])


class Widget:
    """One visitor's widget: pending messages until acked, reconnect with backoff, resume, resend."""

    def __init__(self, index: int, server: ChatServer, channel_public_id: str, rng: random.Random) -> None:
        self.index = index
        self.server = server
        self.channel = channel_public_id
        self.rng = rng
        self.token = ""
        self.visitor = ""
        self.to_write = [f"c{index:02d}m{n:02d}{rng.getrandbits(32):08x}" for n in range(MESSAGES)]
        self.pending: dict[str, str] = {}  # client_id → text, in the order written
        self.acks: dict[str, list[int]] = {}  # client_id → message ids of every ack received
        self.largest_id = 0
        self.connections = 0
        self.resent = 0
        self.errors: list[dict[str, Any]] = []

    @property
    def done(self) -> bool:
        return not self.to_write and not self.pending

    async def start_session(self, http: httpx.AsyncClient) -> None:
        page = {"url": f"{SHOP_ORIGIN}/rowery/{self.index}", "title": "Rowery", "referrer": ""}
        for _attempt in range(50):
            try:
                response = await http.post(
                    f"/chat/{self.channel}/session", json={"page": page}, headers={"Origin": SHOP_ORIGIN}
                )
                if response.status_code == 200:
                    self.token, self.visitor = response.json()["token"], response.json()["visitor"]
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
        raise AssertionError(f"visitor {self.index} got no session")

    async def run(self, deadline: float) -> None:
        delay = 0.1
        while not self.done and time.monotonic() < deadline:
            try:
                async with asyncio.timeout(max(0.1, deadline - time.monotonic())):
                    await self._connected()
                delay = 0.1
            except (OSError, TimeoutError, WebSocketException, InvalidHandshake):
                pass  # the server is gone (or not back yet): try again after a moment
            if not self.done:
                # widget.js: exponential backoff with jitter (1 s to 30 s there; shorter here).
                await asyncio.sleep(
                    min(delay, max(0.0, deadline - time.monotonic())) * self.rng.uniform(0.5, 1.5)
                )
                delay = min(delay * 2, 1.0)

    async def _connected(self) -> None:
        async with connect(
            f"ws://127.0.0.1:{self.server.port}/ws/chat/{self.channel}/",
            origin=SHOP_ORIGIN,  # type: ignore[arg-type]
            proxy=None,
            ping_interval=None,
            open_timeout=3,
            close_timeout=1,
        ) as ws:
            self.connections += 1
            hello = {
                "type": "hello",
                "token": self.token,
                "after": self.largest_id,
                "page": {"url": SHOP_ORIGIN},
            }
            await ws.send(json.dumps(hello))
            welcome = json.loads(await asyncio.wait_for(ws.recv(), timeout=5))
            assert welcome.get("type") == "welcome", welcome
            reader = asyncio.create_task(self._read(ws))
            try:
                for client_id, text in list(self.pending.items()):  # not acked: again, same client_id
                    self.resent += 1
                    await self._send(ws, client_id, text)
                while self.to_write and not reader.done():
                    client_id = self.to_write.pop(0)
                    self.pending[client_id] = f"Message {client_id} from visitor {self.index}"
                    await self._send(ws, client_id, self.pending[client_id])
                    await asyncio.sleep(self.rng.uniform(0.25, 0.6))  # a person typing (quickly)
                while self.pending and not reader.done():
                    await asyncio.sleep(0.02)
            finally:
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)

    async def _send(self, ws: ClientConnection, client_id: str, text: str) -> None:
        await ws.send(json.dumps({"type": "message", "client_id": client_id, "text": text}))

    async def _read(self, ws: ClientConnection) -> None:
        async for raw in ws:
            frame = json.loads(raw)
            message = frame.get("message") or {}
            if isinstance(message.get("id"), int):
                self.largest_id = max(self.largest_id, message["id"])
            if frame.get("type") == "ack":
                client_id = str(frame.get("client_id"))
                self.acks.setdefault(client_id, []).append(message.get("id"))
                self.pending.pop(client_id, None)
            elif frame.get("type") == "error":
                self.errors.append(frame)


@pytest.fixture
def chat_server(tmp_path: Path) -> Iterator[ChatServer]:
    (tmp_path / "var").mkdir()
    server = ChatServer(tmp_path)
    yield server
    server.stop()


async def visitors_write_while_the_server_is_killed(
    server: ChatServer, widgets: list[Widget], rng: random.Random
) -> list[str]:
    """The visitors write; meanwhile the server is killed KILLS times and restarted. The kill log."""
    async with httpx.AsyncClient(base_url=server.url, timeout=5, trust_env=False) as http:
        await asyncio.gather(*(w.start_session(http) for w in widgets))
    started = time.monotonic()
    deadline = started + CLIENT_SECONDS
    writers = asyncio.gather(*(w.run(deadline) for w in widgets))
    kills: list[str] = []
    try:
        for _kill in range(KILLS):
            await asyncio.sleep(rng.uniform(0.3, 1.5))  # a random moment while messages are in flight
            acked = sum(len(w.acks) for w in widgets)
            in_flight = sum(len(w.pending) for w in widgets)
            await asyncio.to_thread(server.kill)
            kills.append(f"{time.monotonic() - started:.1f}s: {acked} acked, {in_flight} in flight")
            if rng.random() < 0.5:
                await asyncio.sleep(rng.uniform(0.0, 1.0))  # sometimes the process stays down a while
            await asyncio.to_thread(server.start)
    finally:
        await writers
    return kills


def test_every_chat_message_is_stored_exactly_once_however_often_the_server_is_killed(
    chat_channel, agent, chat_server
):
    seed = int(os.environ.get("FRONTDESK_CRASH_TEST_SEED") or time.time_ns() % 2**32)
    rng = random.Random(seed)  # the kill schedule and the pace of typing; in every failure message
    chat_server.start()
    widgets = [
        Widget(i, chat_server, str(chat_channel.public_id), random.Random(rng.random()))
        for i in range(VISITORS)
    ]

    kills = asyncio.run(visitors_write_while_the_server_is_killed(chat_server, widgets, rng))
    chat_server.stop()

    details = f"seed {seed}; kills at {'; '.join(kills)}\n{chat_server.logs()}"
    assert len(kills) == KILLS, details
    # Every visitor got an ack for every message it wrote, naming one message each time it was
    # acked (a resend is acked with the message already stored).
    for w in widgets:
        assert w.done, (
            f"visitor {w.index}: {len(w.to_write)} unsent, {sorted(w.pending)} never acked; {details}"
        )
        assert w.errors == [], f"visitor {w.index}: {w.errors}; {details}"
        assert all(len(set(ids)) == 1 for ids in w.acks.values()), f"visitor {w.index}: {w.acks}; {details}"
    # What a process killed between storing the raw payload and processing it left behind is picked
    # up by the worker's sweep later (after 30 s); processing it now must not store anything twice.
    orphans = list(RawInbound.objects.filter(channel=chat_channel, state__in=["received", "failed"]))
    for raw in orphans:
        process_raw(raw)

    expected = {f"{w.visitor}:{client_id}": ids[0] for w in widgets for client_id, ids in w.acks.items()}
    assert len(expected) == VISITORS * MESSAGES
    stored = list(
        Message.objects.filter(channel=chat_channel, direction="in").values_list("provider_id", "id")
    )
    counts = Counter(provider_id for provider_id, _id in stored)
    assert [p for p, n in counts.items() if n > 1] == [], f"stored twice; {details}"
    assert set(counts) == set(expected), f"missing: {sorted(set(expected) - set(counts))[:10]}; {details}"
    # The ack named the message that was stored.
    assert dict(stored) == expected, details
    assert ChatVisitor.objects.filter(channel=chat_channel).count() == VISITORS

    log.warning(
        "chat crash test: %d messages from %d visitors, %d kills (at %s), %d reconnects, %d resends, "
        "%d raw payloads stored (%d left unprocessed by a kill), seed %s",
        len(expected),
        VISITORS,
        len(kills),
        "; ".join(kills),
        sum(w.connections for w in widgets) - VISITORS,
        sum(w.resent for w in widgets),
        RawInbound.objects.filter(channel=chat_channel).count(),
        len(orphans),
        seed,
    )
