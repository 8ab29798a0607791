#!/usr/bin/env python
"""Load test of the live chat: many visitors writing at once to one `frontdesk serve` process.

    python bench/chat_load.py [--visitors 300] [--messages 6] [--interval 20] [--agents 4] [--quick]
                              [--database-url URL] [--json-out bench/results/chat-<date>.json]

What it does, all on 127.0.0.1:
1. a database (a fresh SQLite file in a temporary folder, or --database-url) is migrated with
   `frontdesk migrate`, and a helper process (this script with --setup) creates a shop, its agents
   (online, no capacity limit, each with a signed-in session and an API token) and a chat channel
   that runs on any site;
2. one `frontdesk serve --no-imap` process is started on a free port, with the chat's rate limits
   and its per-address socket limit lifted (every simulated visitor comes from 127.0.0.1);
3. each agent opens the agent WebSocket (/ws/t/<shop>/) with its session cookie; each visitor
   starts a session over HTTP and opens the widget's WebSocket (/ws/chat/<channel>/) with hello;
4. every visitor sends its messages at a steady pace (about one every --interval seconds, with
   jitter), each with a unique client_id. Measured: send → the first agent socket hearing its
   `message.created` (the event's message id is matched through the visitor's ack), and send → ack;
5. agents answer a sample of the messages through the REST API (POST /api/v1/conversations/<n>/
   replies); measured: reply stored (the message's `at`, same clock) → the visitor's socket
   receiving it;
6. after the last message it waits up to 10 s for stragglers, then reports: latencies, messages
   sent / acked / delivered, lost (sent but not acked, or acked but never seen by an agent),
   duplicates, failures, the server's peak RSS and CPU time. One table on stdout; JSON to --json-out.

Everything is bounded: --time-limit (180 s, 20 s with --quick) covers connecting, sending and
draining; every await has a timeout; the server is always stopped at the end. Exit status 1 when a
message was lost or duplicated.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import math
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import migrate, print_failures, text_table, write_results

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
DRAIN_SECONDS = 10.0
RATE_LIMITS_OFF = {
    "FRONTDESK_CHAT_SOCKETS_PER_IP": "0",
    "FRONTDESK_RATE_CHAT_PER_VISITOR": "100000/60",
    "FRONTDESK_RATE_CHAT_PER_IP": "1000000/60",
    "FRONTDESK_RATE_CHAT_SESSION_PER_IP": "100000/60",
    "FRONTDESK_RATE_CHAT_HTTP_PER_IP": "1000000/60",
}


# --- The helper process: set-up through Django ------------------------------------------------------


def setup_shop(agents: int) -> dict[str, Any]:
    """Runs in a child process with the server's environment: a shop, agents, a chat channel."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frontdesk.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.test import Client

    from frontdesk.desk.actions.admin import do_create_channel, do_create_tenant
    from frontdesk.desk.models import ApiToken, Availability, Membership, Role, User, hash_token

    run = secrets.token_hex(4)
    owner = User.objects.create_user(f"owner-{run}@bench.example", None, name="Bench Owner")
    tenant, owner_member = do_create_tenant(f"Bench shop {run}", owner, languages=["en"])
    # Agents here answer a share of the messages, not every chat: with the default re-offer after
    # 60 s, every unanswered chat would be passed on to another agent each minute, a storm of
    # reassignments that a staffed shop does not have. The re-offer path has tests of its own.
    channel = do_create_channel(
        owner_member, "chat", "Bench chat", {"allowed_origins": [], "reoffer_seconds": 3600}
    )
    # New chats are offered to the agents below only.
    Membership.objects.filter(pk=owner_member.pk).update(availability=Availability.OFFLINE)
    made = []
    for i in range(agents):
        user = User.objects.create_user(f"agent{i}-{run}@bench.example", None, name=f"Agent {i}")
        member = Membership.objects.create(
            tenant=tenant,
            user=user,
            role=Role.AGENT,
            availability=Availability.ONLINE,
            capacity=0,
            languages=tenant.languages,
        )
        lookup = secrets.token_hex(6)
        token = f"{ApiToken.PREFIX}{lookup}_{secrets.token_urlsafe(32)}"
        ApiToken.objects.create(
            tenant=tenant, name=f"bench agent {i}", lookup=lookup, token_hash=hash_token(token), member=member
        )
        client = Client()
        client.force_login(user)
        cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
        made.append({"member": member.pk, "token": token, "cookie": cookie})
    return {"slug": tenant.slug, "channel": str(channel.public_id), "channel_id": channel.pk, "agents": made}


def count_stored(channel_id: int) -> dict[str, int]:
    """Runs in a child process after the load: what the database holds of the channel."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frontdesk.settings")
    import django

    django.setup()
    from django.db.models import Count

    from frontdesk.desk.models import Direction, Message

    incoming = Message.objects.filter(channel_id=channel_id, direction=Direction.IN)
    repeated = (
        incoming.values("provider_id").annotate(n=Count("id")).filter(n__gt=1).count()
    )  # the unique constraint makes this 0; counted rather than assumed
    return {
        "stored_in": incoming.count(),
        "stored_out": Message.objects.filter(channel_id=channel_id, direction=Direction.OUT).count(),
        "repeated_provider_ids": repeated,
    }


# --- The server -------------------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def server_env(database_url: str, folder: Path, port: int) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "bench-" + secrets.token_urlsafe(40),
        "FRONTDESK_VAR_DIR": str(folder / "var"),
        "MEDIA_ROOT": str(folder / "media"),
        "FRONTDESK_BASE_URL": f"http://{HOST}:{port}",
        "ALLOWED_HOSTS": f"{HOST},localhost",
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "NO_PROXY": "127.0.0.1,localhost",
        "PYTHONUNBUFFERED": "1",
        **RATE_LIMITS_OFF,
    }
    # One process with the in-memory channel layer; nothing test-only leaks in.
    for name in ("REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE", "FRONTDESK_TEST_DB_NAME"):
        env.pop(name, None)
    return env


def run_helper(env: dict[str, str], *args: str, timeout: float) -> Any:
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


class Server:
    """`frontdesk serve --no-imap` on 127.0.0.1:<port>; `stop()` always ends it."""

    def __init__(self, env: dict[str, str], port: int, log_path: Path) -> None:
        self.port = port
        self.url = f"http://{HOST}:{port}"
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "frontdesk", "serve", "--host", HOST, "--port", str(port), "--no-imap"],
            env=env,
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited:\n{self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/healthz", timeout=1.0, trust_env=False).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"the server did not answer /healthz within {timeout:.0f} s:\n{self.log_tail()}")

    def status(self) -> dict[str, float]:
        """Peak resident memory (VmHWM) and CPU seconds so far, from /proc."""
        found: dict[str, float] = {}
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith(("VmHWM:", "VmRSS:")):
                    found[line.split(":")[0]] = int(line.split()[1]) / 1024  # kB → MiB
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks = os.sysconf("SC_CLK_TCK")
            found["cpu_seconds"] = (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
        return found

    def log_tail(self, chars: int = 3000) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()


# --- The load ---------------------------------------------------------------------------------------


@dataclass
class Sent:
    visitor: int
    client_id: str
    at: float  # monotonic, when the frame was written
    acked: float | None = None
    message_id: int | None = None


@dataclass
class Reply:
    conversation: int
    requested: float  # monotonic
    message_id: int | None = None
    created_at: float | None = None  # the server's wall clock when the reply was stored


@dataclass
class Results:
    sent: dict[str, Sent] = field(default_factory=dict)
    by_message: dict[int, Sent] = field(default_factory=dict)
    seen_by_agent: dict[int, float] = field(default_factory=dict)  # message id → first agent socket
    replies: list[Reply] = field(default_factory=list)
    reply_seen: dict[int, tuple[float, float]] = field(default_factory=dict)  # id → (monotonic, wall)
    duplicates: int = 0  # a message id twice on one socket, or a client_id stored as two messages
    # A visitor's own message pushed to its socket as a `message` frame (it has the ack for it), and
    # how many of those came before the ack: the same id twice on one socket, which docs/chat.md
    # rules out; counted apart from duplicates because the widget copes (it matches the client_id).
    own_echoes: int = 0
    resent_on_socket: int = 0
    failures: list[str] = field(default_factory=list)
    failure_count: int = 0
    agent_events: dict[str, int] = field(default_factory=dict)  # kind → count, all agent sockets
    sessions: int = 0
    visitor_sockets: int = 0
    agent_sockets: int = 0

    def fail(self, what: str) -> None:
        self.failure_count += 1
        if len(self.failures) < 50:
            self.failures.append(what)


@dataclass
class Plan:
    url: str
    ws: str
    channel: str
    slug: str
    agents: list[dict[str, Any]]
    visitors: int
    messages: int
    interval: float
    reply_ratio: float
    time_limit: float
    drain: float
    seed: int


class Load:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.results = Results()
        self.rng = random.Random(plan.seed)
        self.origin = plan.url
        self.tasks: set[asyncio.Task[Any]] = set()
        self.sockets: list[Any] = []
        self.sending_done = asyncio.Event()

    def spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def run(self) -> None:
        import httpx

        started = time.monotonic()
        self.hard_deadline = started + self.plan.time_limit
        # Sending stops early enough to leave time for the drain.
        self.send_deadline = self.hard_deadline - self.plan.drain - 2.0
        limits = httpx.Limits(max_connections=50, max_keepalive_connections=50)
        async with httpx.AsyncClient(
            base_url=self.plan.url, timeout=10.0, trust_env=False, limits=limits
        ) as self.http:
            try:
                await self._connect_agents()
                visitors = await self._connect_visitors()
                self.connected_at = time.monotonic()
                senders = [asyncio.create_task(self._visitor_writes(i, ws)) for i, ws in visitors]
                if senders:
                    await asyncio.wait(senders, timeout=max(0.1, self.send_deadline - time.monotonic() + 5))
                for task in senders:
                    task.cancel()
                self.sending_done.set()
                self.sent_until = time.monotonic()
                await self._drain()
            finally:
                await self._close_all()
        self.finished_at = time.monotonic()

    # agents ------------------------------------------------------------------------------------

    async def _connect_agents(self) -> None:
        from websockets.asyncio.client import connect

        for index, agent in enumerate(self.plan.agents):
            ws = await connect(
                f"{self.plan.ws}/ws/t/{self.plan.slug}/",
                origin=self.origin,  # type: ignore[arg-type]
                additional_headers={"Cookie": agent["cookie"]},
                proxy=None,
                ping_interval=None,  # browsers send no protocol pings (the server pings them)
                open_timeout=10,
                close_timeout=2,
            )
            self.sockets.append(ws)
            hello = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
            if hello.get("type") != "hello":
                raise RuntimeError(f"agent socket {index}: expected hello, got {hello}")
            self.results.agent_sockets += 1
            self.spawn(self._agent_reads(index, ws))

    async def _agent_reads(self, index: int, ws: Any) -> None:
        from websockets.exceptions import ConnectionClosed

        seen_here: set[int] = set()
        agents = len(self.plan.agents)
        while True:
            try:
                frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=self._left()))
            except (TimeoutError, asyncio.CancelledError):
                return
            except ConnectionClosed as exc:
                if not self.closing:
                    self.results.fail(f"agent socket {index} closed: {exc}")
                return
            if frame.get("type") != "event":
                if frame.get("type") == "error":
                    self.results.fail(f"agent socket {index}: {frame}")
                continue
            event = frame.get("event") or {}
            data = event.get("data") or {}
            kind = str(event.get("kind"))
            self.results.agent_events[kind] = self.results.agent_events.get(kind, 0) + 1
            if event.get("kind") != "message.created" or data.get("direction") != "in":
                continue
            message_id = data.get("message")
            if not isinstance(message_id, int):
                continue
            if message_id in seen_here:
                self.results.duplicates += 1
                continue
            seen_here.add(message_id)
            self.results.seen_by_agent.setdefault(message_id, time.monotonic())
            # The agent whose share this conversation is answers some of its messages.
            number = event.get("conversation")
            if (
                isinstance(number, int)
                and number % agents == index
                and not self.sending_done.is_set()
                and self.rng.random() < self.plan.reply_ratio
            ):
                self.spawn(self._reply(index, number))

    async def _reply(self, index: int, number: int) -> None:
        import httpx

        reply = Reply(conversation=number, requested=time.monotonic())
        self.results.replies.append(reply)
        token = self.plan.agents[index]["token"]
        try:
            response = await self.http.post(
                f"/api/v1/conversations/{number}/replies",
                json={"text": f"Answer {uuid.uuid4().hex[:8]} from agent {index}"},
                headers={"Authorization": f"Bearer {token}"},
                timeout=min(10.0, self._left()),
            )
        except (httpx.HTTPError, ValueError) as exc:
            self.results.fail(f"reply to {number}: {type(exc).__name__}: {exc}")
            return
        if response.status_code != 201:
            self.results.fail(f"reply to {number}: {response.status_code} {response.text[:200]}")
            return
        body = response.json()
        reply.message_id = body.get("id")
        created = body.get("created_at")
        if isinstance(created, str):
            reply.created_at = dt.datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp()

    # visitors ----------------------------------------------------------------------------------

    async def _connect_visitors(self) -> list[tuple[int, Any]]:
        gate = asyncio.Semaphore(20)
        connected: list[tuple[int, Any]] = []

        async def one(index: int) -> None:
            async with gate:
                ws = await self._visitor_socket(index)
            if ws is not None:
                connected.append((index, ws))

        tasks = [asyncio.create_task(one(i)) for i in range(self.plan.visitors)]
        # At most a third of the time to connect everyone; the rest is for writing and draining.
        done, pending = await asyncio.wait(tasks, timeout=max(5.0, self.plan.time_limit / 3))
        for task in pending:
            task.cancel()
        for task in done:
            if task.exception() is not None:
                self.results.fail(f"visitor connect: {task.exception()!r}")
        if pending:
            self.results.fail(f"{len(pending)} visitors did not connect in time")
        connected.sort(key=lambda pair: pair[0])
        return connected

    async def _visitor_socket(self, index: int) -> Any:
        import httpx
        from websockets.asyncio.client import connect

        page = {"url": f"{self.origin}/shop/item-{index}", "title": f"Item {index}", "referrer": ""}
        try:
            response = await self.http.post(
                f"/chat/{self.plan.channel}/session",
                json={"page": page, "language": "en"},
                headers={"Origin": self.origin},
            )
        except httpx.HTTPError as exc:
            self.results.fail(f"visitor {index} session: {type(exc).__name__}: {exc}")
            return None
        if response.status_code != 200:
            self.results.fail(f"visitor {index} session: {response.status_code} {response.text[:200]}")
            return None
        self.results.sessions += 1
        token = response.json()["token"]
        ws = await connect(
            f"{self.plan.ws}/ws/chat/{self.plan.channel}/",
            origin=self.origin,  # type: ignore[arg-type]
            proxy=None,
            ping_interval=None,  # browsers send no protocol pings (the server pings them)
            open_timeout=10,
            close_timeout=2,
        )
        self.sockets.append(ws)
        await asyncio.wait_for(
            ws.send(json.dumps({"type": "hello", "token": token, "after": 0, "page": page})), 10
        )
        welcome = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
        if welcome.get("type") != "welcome":
            self.results.fail(f"visitor {index}: expected welcome, got {welcome}")
            return None
        self.results.visitor_sockets += 1
        self.spawn(self._visitor_reads(index, ws))
        return ws

    async def _visitor_writes(self, index: int, ws: Any) -> None:
        from websockets.exceptions import ConnectionClosed

        rng = random.Random(self.plan.seed * 100_003 + index)
        await asyncio.sleep(rng.uniform(0, self.plan.interval))  # visitors start at different moments
        for n in range(self.plan.messages):
            if time.monotonic() >= self.send_deadline:
                return
            client_id = f"b{index}-{n}-{uuid.uuid4().hex[:12]}"
            frame = {"type": "message", "client_id": client_id, "text": f"Question {n} of visitor {index}"}
            record = Sent(visitor=index, client_id=client_id, at=time.monotonic())
            self.results.sent[client_id] = record
            try:
                await asyncio.wait_for(ws.send(json.dumps(frame)), timeout=10)
            except (ConnectionClosed, TimeoutError) as exc:
                self.results.fail(f"visitor {index} send: {type(exc).__name__}")
                return
            await asyncio.sleep(self.plan.interval * rng.uniform(0.67, 1.33))

    async def _visitor_reads(self, index: int, ws: Any) -> None:
        from websockets.exceptions import ConnectionClosed

        seen_here: set[int] = set()
        echoed: set[int] = set()  # the visitor's own messages pushed to it as `message` frames
        while True:
            try:
                raw = await asyncio.wait_for(ws.recv(), timeout=self._left())
            except (TimeoutError, asyncio.CancelledError):
                return
            except ConnectionClosed as exc:
                if not self.closing:
                    self.results.fail(f"visitor socket {index} closed: {exc}")
                return
            now, wall = time.monotonic(), time.time()
            frame = json.loads(raw)
            kind = frame.get("type")
            if kind == "ack":
                message = frame.get("message") or {}
                record = self.results.sent.get(str(frame.get("client_id")))
                message_id = message.get("id")
                if record is None or not isinstance(message_id, int):
                    self.results.fail(f"visitor {index}: ack of an unknown message {frame}")
                    continue
                if message_id in echoed:
                    # Pushed as a `message` frame before its ack (see own_echoes).
                    self.results.resent_on_socket += 1
                elif message_id in seen_here:
                    self.results.duplicates += 1
                seen_here.add(message_id)
                if record.message_id is not None and record.message_id != message_id:
                    self.results.duplicates += 1  # one client_id stored as two messages
                if record.acked is None:
                    record.acked, record.message_id = now, message_id
                    self.results.by_message[message_id] = record
            elif kind == "message":
                message = frame.get("message") or {}
                message_id = message.get("id")
                if not isinstance(message_id, int):
                    continue
                if message_id in seen_here:
                    self.results.duplicates += 1
                    continue
                seen_here.add(message_id)
                if message.get("from") == "agent":
                    self.results.reply_seen.setdefault(message_id, (now, wall))
                else:
                    self.results.own_echoes += 1
                    echoed.add(message_id)
            elif kind == "error":
                self.results.fail(f"visitor {index}: {frame}")

    # the end -----------------------------------------------------------------------------------

    closing = False

    def _left(self) -> float:
        return max(0.01, self.hard_deadline + 5.0 - time.monotonic())

    def _complete(self) -> bool:
        r = self.results
        if any(s.acked is None for s in r.sent.values()):
            return False
        if any(s.message_id not in r.seen_by_agent for s in r.sent.values()):
            return False
        pending = [x for x in r.replies if x.message_id is None] or [
            x for x in r.replies if x.message_id not in r.reply_seen
        ]
        return not pending

    async def _drain(self) -> None:
        deadline = min(self.hard_deadline, time.monotonic() + self.plan.drain)
        while time.monotonic() < deadline and not self._complete():
            await asyncio.sleep(0.05)

    async def _close_all(self) -> None:
        self.closing = True
        for task in list(self.tasks):
            task.cancel()
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=5)
        closers = [asyncio.create_task(ws.close()) for ws in self.sockets]
        if closers:
            await asyncio.wait(closers, timeout=5)


# --- The report -------------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


def summarize(
    load: Load, server: dict[str, float], stored: dict[str, int], meta: dict[str, Any]
) -> dict[str, Any]:
    r = load.results
    sent = list(r.sent.values())
    acked = [s for s in sent if s.acked is not None]
    delivered = [s for s in acked if s.message_id in r.seen_by_agent]
    to_agent = [r.seen_by_agent[s.message_id] - s.at for s in delivered if s.message_id is not None]
    first_to_agent = [
        r.seen_by_agent[s.message_id] - s.at
        for s in delivered
        if s.message_id is not None and s.client_id.split("-")[1] == "0"
    ]
    later_to_agent = [
        r.seen_by_agent[s.message_id] - s.at
        for s in delivered
        if s.message_id is not None and s.client_id.split("-")[1] != "0"
    ]
    to_ack = [s.acked - s.at for s in acked if s.acked is not None]
    answered = [x for x in r.replies if x.message_id is not None]
    reply_seen = [x for x in answered if x.message_id in r.reply_seen]
    to_visitor = [
        r.reply_seen[x.message_id][1] - x.created_at
        for x in reply_seen
        if x.message_id is not None and x.created_at is not None
    ]
    reply_round = [
        r.reply_seen[x.message_id][0] - x.requested for x in reply_seen if x.message_id is not None
    ]
    sending = max(0.001, load.sent_until - load.connected_at)
    return {
        **meta,
        "visitors_connected": r.visitor_sockets,
        "agent_sockets": r.agent_sockets,
        "messages": {
            "sent": len(sent),
            "acked": len(acked),
            "delivered_to_agents": len(delivered),
            "lost": len(sent) - len(delivered),
            "not_acked": len(sent) - len(acked),
            "duplicates": r.duplicates + stored.get("repeated_provider_ids", 0),
            "own_echoes": r.own_echoes,
            "sent_twice_on_one_socket": r.resent_on_socket,
            "stored_in_database": stored.get("stored_in"),
            "rate_per_second": round(len(sent) / sending, 1),
        },
        "visitor_to_agent_ms": {
            "p50": ms(percentile(to_agent, 50)),
            "p95": ms(percentile(to_agent, 95)),
            "p99": ms(percentile(to_agent, 99)),
            "max": ms(max(to_agent, default=None)),
            # A visitor's first message also makes the customer and the conversation and offers
            # the chat to an agent: reported apart from the messages that follow.
            "first_p99": ms(percentile(first_to_agent, 99)),
            "later_p99": ms(percentile(later_to_agent, 99)),
        },
        "send_to_ack_ms": {
            "p50": ms(percentile(to_ack, 50)),
            "p99": ms(percentile(to_ack, 99)),
            "max": ms(max(to_ack, default=None)),
        },
        "agent_to_visitor_ms": {
            "replies": len(r.replies),
            "stored": len(answered),
            "seen_by_visitor": len(reply_seen),
            "p50": ms(percentile(to_visitor, 50)),
            "p99": ms(percentile(to_visitor, 99)),
            "max": ms(max(to_visitor, default=None)),
            "api_call_to_visitor_p50": ms(percentile(reply_round, 50)),
            "api_call_to_visitor_p99": ms(percentile(reply_round, 99)),
        },
        "agent_events": dict(sorted(r.agent_events.items())),
        "failures": r.failure_count,
        "failure_samples": r.failures[:20],
        "server": {
            "peak_rss_mib": round(server.get("VmHWM", 0.0), 1),
            "cpu_seconds": round(server.get("cpu_seconds", 0.0), 1),
        },
        "seconds": {
            "sending": round(sending, 1),
            "total": round(load.finished_at - (load.hard_deadline - load.plan.time_limit), 1),
        },
    }


def table(result: dict[str, Any]) -> str:
    m, va, ack, av = (
        result["messages"],
        result["visitor_to_agent_ms"],
        result["send_to_ack_ms"],
        result["agent_to_visitor_ms"],
    )

    def f(value: Any) -> str:
        return "-" if value is None else f"{value:g}" if isinstance(value, float) else str(value)

    rows = [
        ("database", result["database"]),
        ("visitors / agents", f"{result['visitors_connected']} / {result['agent_sockets']}"),
        ("messages per visitor", f(result["messages_per_visitor"])),
        ("sent / acked / delivered", f"{m['sent']} / {m['acked']} / {m['delivered_to_agents']}"),
        ("stored in the database", f(m["stored_in_database"])),
        ("rate (messages/s)", f(m["rate_per_second"])),
        ("lost", f(m["lost"])),
        ("  of which not acked", f(m["not_acked"])),
        ("duplicates", f(m["duplicates"])),
        ("same id twice on a socket", f(m["sent_twice_on_one_socket"])),
        ("failures", f(result["failures"])),
        ("visitor→agent p50 (ms)", f(va["p50"])),
        ("visitor→agent p95 (ms)", f(va["p95"])),
        ("visitor→agent p99 (ms)", f(va["p99"])),
        ("visitor→agent max (ms)", f(va["max"])),
        ("  p99 first / later messages", f"{f(va['first_p99'])} / {f(va['later_p99'])}"),
        ("send→ack p50 / p99 (ms)", f"{f(ack['p50'])} / {f(ack['p99'])}"),
        ("agent replies (seen/sent)", f"{av['seen_by_visitor']} / {av['replies']}"),
        ("agent→visitor p50 (ms)", f(av["p50"])),
        ("agent→visitor p99 (ms)", f(av["p99"])),
        ("server peak RSS (MiB)", f(result["server"]["peak_rss_mib"])),
        ("load average before / after", " / ".join(f(x) for x in result["load_average"])),
        (
            "server CPU (s) / sending (s)",
            f"{f(result['server']['cpu_seconds'])} / {f(result['seconds']['sending'])}",
        ),
    ]
    return text_table("Frontdesk live chat load test", rows, rule=24)


# --- Main -------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visitors", type=int, default=None, help="visitors at once (300; --quick: 20)")
    parser.add_argument("--messages", type=int, default=None, help="messages per visitor (6; --quick: 5)")
    parser.add_argument("--agents", type=int, default=4, help="agents, each with an open agent socket")
    parser.add_argument(
        "--interval",
        type=float,
        default=None,
        help="seconds between a visitor's messages (20: a person typing; --quick: 1)",
    )
    parser.add_argument("--reply-ratio", type=float, default=0.1, help="share of messages agents answer")
    parser.add_argument("--quick", action="store_true", help="small and short (20 s limit)")
    parser.add_argument(
        "--time-limit", type=float, default=None, help="seconds for the load (180; --quick: 20)"
    )
    parser.add_argument(
        "--drain",
        type=float,
        default=DRAIN_SECONDS,
        help="seconds to wait for stragglers after the last message",
    )
    parser.add_argument(
        "--database-url", default="", help="default: a fresh SQLite file in a temporary folder"
    )
    parser.add_argument("--json-out", default="", help="default: bench/results/chat-<date>.json")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary folder (database, server log)"
    )
    parser.add_argument("--setup", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.visitors = args.visitors if args.visitors is not None else (20 if args.quick else 300)
    args.messages = args.messages if args.messages is not None else (5 if args.quick else 6)
    args.interval = args.interval if args.interval is not None else (1.0 if args.quick else 20.0)
    args.time_limit = args.time_limit if args.time_limit is not None else (20.0 if args.quick else 180.0)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.setup is not None:
        print(json.dumps(setup_shop(args.setup)))
        return 0
    if args.count is not None:
        print(json.dumps(count_stored(args.count)))
        return 0

    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    folder = Path(tempfile.mkdtemp(prefix="frontdesk-chat-bench-"))
    (folder / "var").mkdir()
    database_url = args.database_url or f"sqlite:///{folder / 'bench.sqlite3'}"
    port = free_port()
    env = server_env(database_url, folder, port)
    server: Server | None = None
    tail = ""
    try:
        migrate(env, timeout=600)
        shop = run_helper(env, "--setup", str(args.agents), timeout=300)
        load_before = os.getloadavg()[0]
        server = Server(env, port, folder / "server.log")
        server.wait_ready()
        # For a profiler: py-spy record --idle --threads -p <pid> (see bench/README.md).
        print(f"server pid {server.process.pid} on {server.url}", file=sys.stderr, flush=True)
        plan = Plan(
            url=server.url,
            ws=f"ws://{HOST}:{port}",
            channel=shop["channel"],
            slug=shop["slug"],
            agents=shop["agents"],
            visitors=args.visitors,
            messages=args.messages,
            interval=args.interval,
            reply_ratio=args.reply_ratio,
            time_limit=args.time_limit,
            drain=args.drain,
            seed=seed,
        )
        load = Load(plan)
        asyncio.run(asyncio.wait_for(load.run(), timeout=args.time_limit + 30))
        status = server.status()
        stored = run_helper(env, "--count", str(shop["channel_id"]), timeout=120)
        meta = {
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "database": "postgresql" if database_url.startswith("postgres") else "sqlite",
            "visitors": args.visitors,
            "messages_per_visitor": args.messages,
            "agents": args.agents,
            "interval_seconds": args.interval,
            "reply_ratio": args.reply_ratio,
            "seed": seed,
            "cpus": os.cpu_count(),
            # Other work on the machine skews every number: the 1-minute load before and after.
            "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        }
        result = summarize(load, status, stored, meta)
    finally:
        if server is not None:
            tail = server.log_tail()
            server.stop()
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            print(f"kept {folder}", file=sys.stderr)
    print(table(result))
    print_failures(result, tail)
    print(f"results: {write_results(result, args.json_out, 'chat')}")
    m = result["messages"]
    return 1 if m["lost"] or m["duplicates"] else 0


if __name__ == "__main__":
    sys.exit(main())
