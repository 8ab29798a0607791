#!/usr/bin/env python
"""Load test of inbound messages through the API channel's webhook: signed JSON posts to one server.

    python bench/http_inbound.py [--requests 6000] [--concurrency 32] [--customers 2000] [--quick]
                                 [--repeat-share 0.01] [--floor 2000] [--database-url URL]
                                 [--time-limit 120] [--json-out bench/results/http-inbound-<date>.json]

What it does, all on 127.0.0.1:
1. a database (a new SQLite file in a temporary folder, or --database-url) is migrated, and a
   shop with an API channel is made through the project's actions by a helper process (this script
   with --setup); it hands back the channel's public id and signing secret. A migrated, empty
   SQLite file is kept in the system's temporary folder, named by a digest of the migrations and
   the pinned dependencies, and copied for the next run (--fresh migrates anyway);
2. one `frontdesk serve --no-imap` process is started on a free port (with its worker thread, as in
   production), with the webhook's rate limits switched off: FRONTDESK_RATE_HOOK_PER_CHANNEL and
   FRONTDESK_RATE_HOOK_PER_IP set to "0/60" (a count of 0 switches a limit off; by default one
   channel takes 1200 and one address 600 requests a minute, far below what is measured here);
3. the floor: --floor GET /healthz requests (one `SELECT 1` through the same middleware and thread
   hand-off) with the same client and concurrency: what the process serves when a request does
   almost nothing, the ceiling for any figure of the webhook on this machine;
4. the load: a bounded asyncio client (`Connection`: --concurrency HTTP/1.1 connections kept alive) posts
   --requests signed bodies to POST /hooks/<channel>/ as a shop's backend would (docs/channels.md,
   "The API channel"): about a third (--new-share) from customers writing for the first time, the
   rest follow-ups of customers already answered (half of the customers write about an order, with
   a thread_id), each with a unique idempotency key and 100–1500 characters of Polish or English.
   Every --repeat-share-th request (1 %) resends an earlier, answered request unchanged, which must
   come back 200 with `duplicate: true` and the same message id. With --respond-async every post
   carries `Prefer: respond-async` and is answered 202 once stored (docs/channels.md); then, after
   the load, a helper process (--drain) waits until the server's worker thread has made every
   message, and the rate at which they were made (from the start of the load) is reported too. Like a real sender, the client
   retries a timeout, a dropped connection, 429 or 503 with the same body and key (3 attempts);
5. measured: requests/s over the steady phase (between the 10th and the 90th percentile of the
   completions, so start-up and the last stragglers do not count) and over the whole run, latency
   p50/p95/p99/max (per request, retries included), final status codes, retries, the server's peak
   RSS (VmHWM) and its CPU seconds during the load (worker thread included) and per request, the
   load generator's own CPU seconds (it shares the machine);
6. after the server has stopped, a helper process (--after-load) checks the database through
   Django: every accepted request is exactly one stored Message (by its provider id,
   "api:<idempotency key>", and with the message id the answer named), repeats created nothing,
   nothing else was stored (a request never answered may be stored once or not at all: its sender
   would retry it); raw payloads (RawInbound) are counted by state. Then it counts the SQL queries
   of one request of each kind (new customer, follow-up, new order thread, follow-up in that
   thread, repeat) with Django's test client around the same view (--no-queries skips this).

One table on stdout; JSON to --json-out. Exit status 1 when an accepted request was lost or a
message was stored twice (or a repeat was answered as anything but the same message).

Everything is bounded: --time-limit (120 s; 30 s with --quick) stops sending (and the floor gets
at most 30 s of it), every attempt has a 10 s timeout, and the server is stopped at the end
whatever happens. Timings on a shared 2-core machine, with the load generator on the same cores,
are indicative; the load average before and after is in the table.

To see where the server spends its time, run py-spy on the pid printed to stderr (bench/README.md).
Server helpers (Server, free_port, server_env, percentile, ms) come from bench/chat_load.py.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import os
import random
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from chat_load import HOST, Server, free_port, ms, percentile, server_env
from common import print_failures, text_table, write_results

ROOT = Path(__file__).resolve().parents[1]
SIGNATURE_HEADER = "X-Frontdesk-Signature"
# The webhook's own limits (frontdesk/channels/ratelimit.py): a count of 0 switches a limit off.
HOOK_RATE_LIMITS_OFF = {
    "FRONTDESK_RATE_HOOK_PER_CHANNEL": "0/60",
    "FRONTDESK_RATE_HOOK_PER_IP": "0/60",
}
REQUEST_TIMEOUT = 10.0
ATTEMPTS = 3  # one request and up to two retries
TRANSACTION_CONTROL = frozenset({"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"})

POLISH = [
    "Dzień dobry, zamówiłem w zeszłym tygodniu dwie pary butów i nadal nie dostałem paczki.",
    "Czy mogą Państwo sprawdzić, gdzie jest moja przesyłka?",
    "Numer zamówienia podałem w formularzu, płatność przeszła przez BLIK od razu.",
    "Kurier miał przyjechać wczoraj między 10 a 14, ale nikt się nie pojawił.",
    "Chciałabym zwrócić sukienkę, bo rozmiar M okazał się za mały.",
    "Jak długo trwa zwrot pieniędzy na kartę po odesłaniu towaru?",
    "Paczka przyszła uszkodzona, karton był zgnieciony, a jeden kubek jest pęknięty.",
    "Załączam zdjęcie etykiety, żeby łatwiej było znaleźć przesyłkę.",
    "Czy jest możliwość zmiany adresu dostawy na paczkomat przy ulicy Żółkiewskiego?",
    "Proszę o fakturę VAT na firmę, NIP podałem przy zamówieniu.",
    "Dziękuję za szybką odpowiedź, wszystko już jasne.",
    "Niestety produkt nie działa po podłączeniu do ładowarki, dioda w ogóle się nie świeci.",
    "Czy ten model jest dostępny w kolorze granatowym i kiedy wróci do sprzedaży?",
    "Zależy mi na dostawie przed świętami, bo to prezent dla córki.",
    "Pozdrawiam serdecznie, Małgorzata Wójcik-Kaczmarek.",
]
ENGLISH = [
    "Hello, I ordered a pair of running shoes last Tuesday and the parcel has not arrived yet.",
    "Could you please check where my shipment is?",
    "The tracking page has said 'label created' for four days now.",
    "I would like to return the jacket because the sleeves are too short.",
    "How long does a refund to my credit card usually take once you receive the item?",
    "The box arrived damaged and one of the glasses inside is broken.",
    "I attached a photo of the shipping label so you can find the parcel faster.",
    "Is it possible to change the delivery address to my office instead?",
    "Please send me an invoice with my company details, I entered them at checkout.",
    "Thanks for the quick reply, that solves it.",
    "Unfortunately the charger stopped working after two days; the light does not come on at all.",
    "Is this model available in navy blue, and when will it be back in stock?",
    "I need it before the weekend because it is a birthday present.",
    "My order number is in the subject line; the payment went through straight away.",
    "Kind regards, Jonathan O'Connor-Smith.",
]
FIRST_NAMES = ["Jan", "Anna", "Łukasz", "Małgorzata", "Zofia", "Paweł", "Emma", "Oliver", "Grace", "Liam"]
LAST_NAMES = ["Kowalski", "Wiśniewska", "Wójcik", "Kamińska", "Lewandowski", "Smith", "Brown", "Taylor"]


# --- The helper processes: set-up, verification and query counts through Django -------------------


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frontdesk.settings")
    import django

    django.setup()


def setup_shop(migrate: bool, template: str) -> dict[str, Any]:
    """Runs in a child process with the server's environment: migrates the database when asked
    (keeping a copy of the empty, migrated SQLite file at `template` for the next run), then makes
    a shop with an API channel."""
    _django()
    if migrate:
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", interactive=False, verbosity=0)
        if template:
            # Written aside and renamed: a run beside this one never copies half a file.
            partial = f"{template}.{os.getpid()}.part"
            with connection.cursor() as cursor:
                cursor.execute("VACUUM INTO %s", [partial])
            os.replace(partial, template)
    from frontdesk.desk.actions.admin import do_create_channel, do_create_tenant
    from frontdesk.desk.models import User

    run = secrets.token_hex(4)
    owner = User.objects.create_user(f"owner-{run}@bench.example", None, name="Bench Owner")
    _tenant, owner_member = do_create_tenant(f"Bench shop {run}", owner, languages=["pl", "en"], country="PL")
    # No webhook URL: replies are not what is measured (acknowledgements the shop's promise
    # queues for new conversations fail fast in the worker thread, without a network call).
    channel = do_create_channel(owner_member, "api", "Bench API", {})
    return {
        "run": run,
        "channel": str(channel.public_id),
        "channel_id": channel.pk,
        "secret": channel.secrets["signing_secret"],
    }


def after_load(spec_path: str) -> dict[str, Any]:
    """Runs in a child process after the load: the database check, then the query counts (which
    post messages of their own, so they come second)."""
    spec = json.loads(Path(spec_path).read_text())
    stored = verify_stored(spec)
    queries = count_queries(int(spec["channel_id"])) if spec.get("queries") else None
    return {"stored": stored, "queries": queries}


def drain(channel_id: int, time_limit: float) -> dict[str, Any]:
    """Runs in a child process while the server runs: waits until its worker has processed every
    payload of the channel that was answered 202 (none is left `received`), or the time limit."""
    _django()
    from frontdesk.desk.models import RawInbound, RawState

    started = time.monotonic()
    pending = RawInbound.objects.filter(channel_id=channel_id, state=RawState.RECEIVED)
    at_start = left = pending.count()
    while left and time.monotonic() - started < time_limit:
        time.sleep(0.2)
        left = pending.count()
    return {
        "pending_after_load": at_start,
        "left_unprocessed": left,
        "waited_seconds": round(time.monotonic() - started, 1),
        "done_at": time.monotonic(),
    }


def verify_stored(spec: dict[str, Any]) -> dict[str, Any]:
    """Runs in a child process after the load: does the database hold exactly what was accepted?

    The spec names the channel, every accepted idempotency key with the message id its answer
    named, and the keys whose outcome the client never learnt (a timeout, a dropped connection)."""
    _django()
    from django.db.models import Count

    from frontdesk.desk.models import Conversation, Customer, Direction, Message, RawInbound

    channel_id = int(spec["channel_id"])
    accepted: dict[str, int] = spec["accepted"]
    unknown: set[str] = set(spec["unknown"])
    incoming = Message.objects.filter(channel_id=channel_id, direction=Direction.IN)
    stored: dict[str, list[int]] = {}
    for provider_id, pk in incoming.values_list("provider_id", "pk").iterator(chunk_size=2000):
        stored.setdefault(provider_id, []).append(pk)
    missing = [k for k in accepted if f"api:{k}" not in stored]
    other_id = [
        k
        for k, pk in accepted.items()
        if pk is not None and f"api:{k}" in stored and pk not in stored[f"api:{k}"]
    ]
    twice = [p for p, pks in stored.items() if len(pks) > 1]
    expected = {f"api:{k}" for k in accepted} | {f"api:{k}" for k in unknown}
    unexpected = [p for p in stored if p not in expected]
    raw_states = dict(
        RawInbound.objects.filter(channel_id=channel_id)
        .values_list("state")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {
        "stored_in": sum(len(pks) for pks in stored.values()),
        "missing": len(missing),
        "missing_samples": missing[:10],
        "other_message_id": len(other_id),
        "stored_twice": len(twice),
        "stored_twice_samples": twice[:10],
        "unexpected": len(unexpected),
        "unknown_outcome_stored": sum(1 for k in unknown if f"api:{k}" in stored),
        "raw_by_state": {str(k): v for k, v in sorted(raw_states.items())},
        "customers": Customer.objects.filter(tenant__channels__pk=channel_id).count(),
        "conversations": Conversation.objects.filter(channel_id=channel_id).count(),
    }


def count_queries(channel_id: int) -> dict[str, Any]:
    """Runs in a child process: the SQL queries of one request of each kind, through the same view.

    Django's test client calls the view in this process (the middleware and URL routing included),
    so every query the endpoint makes is seen; nothing of the load runs meanwhile."""
    _django()
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from frontdesk.desk.models import Channel

    channel = Channel.objects.get(pk=channel_id)
    secret = channel.secrets["signing_secret"]
    client = Client()
    run = secrets.token_hex(4)
    rng = random.Random(7)

    def post(body: dict[str, Any]) -> tuple[int, list[str]]:
        raw = json.dumps(body, ensure_ascii=False).encode()
        reset_queries()
        with CaptureQueriesContext(connection) as captured:
            response = client.post(
                f"/hooks/{channel.public_id}/",
                data=raw,
                content_type="application/json",
                headers={SIGNATURE_HEADER: sign(secret, raw)},
                SERVER_NAME=HOST,
            )
        return response.status_code, [q["sql"] for q in captured.captured_queries]

    customer = {"external_id": f"q-{run}", "email": f"q-{run}@example.org", "name": "Zofia Nowak"}
    kinds: dict[str, Any] = {}
    first = {"idempotency_key": f"q-{run}-1", "customer": customer, "text": text_of(rng, "pl")}
    thread = f"order-q-{run}"
    for kind, body in [
        # A customer writing for the first time: customer, conversation, acknowledgement.
        ("new_customer", first),
        # The same customer again: their open conversation continues.
        ("follow_up", {"idempotency_key": f"q-{run}-2", "customer": customer, "text": text_of(rng, "pl")}),
        # The same customer about an order: a thread id not seen before opens a conversation.
        (
            "new_thread",
            {
                "idempotency_key": f"q-{run}-3",
                "customer": customer,
                "text": text_of(rng, "en"),
                "thread_id": thread,
            },
        ),
        # …and writing in that thread again.
        (
            "follow_up_in_thread",
            {
                "idempotency_key": f"q-{run}-4",
                "customer": customer,
                "text": text_of(rng, "en"),
                "thread_id": thread,
            },
        ),
        # The first request again (a retry): answered from what is stored.
        ("repeat", first),
    ]:
        status, sql = post(body)
        control = [q for q in sql if q.split(" ", 1)[0].upper() in TRANSACTION_CONTROL]
        kinds[kind] = {
            "status": status,
            "queries": len(sql),
            # BEGIN/COMMIT (and savepoints) are round trips too, but not work the ORM compiles.
            "transaction_statements": len(control),
            "sql": [q[:160] for q in sql],
        }
    return kinds


# --- Requests ---------------------------------------------------------------------------------------


def sign(secret: str, body: bytes) -> str:
    """The API channel's signature (docs/channels.md; frontdesk.channels.signing.sign)."""
    t = int(time.time())
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def text_of(rng: random.Random, language: str) -> str:
    """100–1500 characters of sentences in one language."""
    sentences = POLISH if language == "pl" else ENGLISH
    target = rng.randint(100, 1500)
    parts: list[str] = []
    size = 0
    while size < target:
        sentence = rng.choice(sentences)
        parts.append(sentence)
        size += len(sentence) + 1
    return " ".join(parts)[:1500]


@dataclass
class Customer:
    index: int
    body: dict[str, Any]  # the request's "customer" object
    language: str
    thread_id: str  # "" for customers who write without an order thread
    first_answered: bool = False


@dataclass
class Outcome:
    key: str
    kind: str  # new, follow_up, repeat
    started: float  # monotonic
    ended: float
    status: int | None  # None: no answer (timeout, connection error)
    message_id: int | None = None
    duplicate: bool | None = None
    error: str = ""
    repeat_of: str = ""
    attempts: int = 1
    first_error: str = ""  # of an attempt that was retried


@dataclass
class Plan:
    url: str
    channel: str
    secret: str
    run: str
    requests: int
    concurrency: int
    customers: int
    new_share: float
    repeat_share: float
    time_limit: float
    seed: int
    # Ask for `Prefer: respond-async`: answered 202 once stored, processed behind (docs/channels.md).
    respond_async: bool = False

    @property
    def ok(self) -> tuple[int, ...]:
        """The answers that mean "accepted"."""
        return (202,) if self.respond_async else (200, 201)


@dataclass
class Load:
    """The client side: who writes next, what was answered. All on one event loop, so no locks."""

    plan: Plan
    rng: random.Random = field(init=False)
    customers: list[Customer] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    answered: dict[str, tuple[bytes, int]] = field(default_factory=dict)  # key → (body, message id)
    answered_keys: list[str] = field(default_factory=list)
    _pending_customer: dict[str, Customer] = field(default_factory=dict)  # key → its writer
    known: list[Customer] = field(default_factory=list)  # first message answered
    next_request: int = 0
    next_key: int = 0
    started_at: float = 0.0
    finished_at: float = 0.0
    stopped_by_time: bool = False

    def __post_init__(self) -> None:
        self.rng = random.Random(self.plan.seed)
        self.repeat_every = round(1 / self.plan.repeat_share) if self.plan.repeat_share > 0 else 0

    def _new_customer(self) -> Customer:
        i = len(self.customers)
        rng = self.rng
        language = "pl" if rng.random() < 0.6 else "en"
        body: dict[str, Any] = {
            "external_id": f"cust-{self.plan.run}-{i}",
            "name": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
            "language": language,
        }
        # Most shops also know the e-mail address, some the phone: both are checked and
        # normalised by the endpoint, and tie the customer to the same person elsewhere.
        if rng.random() < 0.7:
            body["email"] = f"c{i}.{self.plan.run}@example.org"
        if rng.random() < 0.3:
            body["phone"] = f"+48 6{rng.randint(0, 99_999_999):08d}"
        if rng.random() < 0.5:
            body["attributes"] = {"orders": rng.randint(1, 40), "segment": rng.choice(["vip", "new"])}
        thread = f"order-{self.plan.run}-{i}" if rng.random() < 0.5 else ""
        customer = Customer(i, body, language, thread)
        self.customers.append(customer)
        return customer

    def next_body(self) -> tuple[str, str, bytes, str] | None:
        """(kind, key, body, repeat_of) of the next request, or None when all were sent."""
        if self.next_request >= self.plan.requests:
            return None
        n = self.next_request
        self.next_request += 1
        if self.repeat_every and n % self.repeat_every == self.repeat_every - 1 and self.answered_keys:
            key = self.rng.choice(self.answered_keys)
            return "repeat", key, self.answered[key][0], key
        known = self.known
        room = len(self.customers) < self.plan.customers
        if room and (not known or self.rng.random() < self.plan.new_share):
            customer, kind = self._new_customer(), "new"
        else:
            # A customer whose first message was answered (else one still in flight: the server
            # copes with both at once, but a shop's backend rarely sends them like that).
            customer, kind = self.rng.choice(known or self.customers), "follow_up"
        self.next_key += 1
        key = f"{self.plan.run}-{self.next_key}-{secrets.token_hex(4)}"
        body: dict[str, Any] = {
            "idempotency_key": key,
            "customer": customer.body,
            "text": text_of(self.rng, customer.language),
        }
        if customer.thread_id:
            body["thread_id"] = customer.thread_id
            if kind == "new":
                body["subject"] = (
                    f"Zamówienie {customer.index}" if customer.language == "pl" else f"Order {customer.index}"
                )
        if self.rng.random() < 0.3:
            body["sent_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        self._pending_customer[key] = customer
        return kind, key, json.dumps(body, ensure_ascii=False).encode(), ""

    async def run(self) -> None:
        self.started_at = time.monotonic()
        deadline = self.started_at + self.plan.time_limit
        connections = [Connection(self.plan.url) for _ in range(self.plan.concurrency)]
        workers = [asyncio.create_task(self._worker(c, deadline)) for c in connections]
        await asyncio.wait(workers, timeout=self.plan.time_limit + REQUEST_TIMEOUT + 5)
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        for connection in connections:
            connection.close()
        self.finished_at = time.monotonic()

    async def _worker(self, client: Connection, deadline: float) -> None:
        path = f"/hooks/{self.plan.channel}/"
        while True:
            if time.monotonic() >= deadline:
                self.stopped_by_time = self.next_request < self.plan.requests
                return
            nxt = self.next_body()
            if nxt is None:
                return
            kind, key, body, repeat_of = nxt
            started = time.monotonic()
            outcome = Outcome(key, kind, started, started, None, repeat_of=repeat_of)
            # As docs/channels.md tells senders: retry a timeout, a dropped connection, 429 or 503
            # with the same body and idempotency key (a fresh signature each time).
            for attempt in range(1, ATTEMPTS + 1):
                outcome.attempts = attempt
                headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(self.plan.secret, body)}
                if self.plan.respond_async:
                    headers["Prefer"] = "respond-async"
                try:
                    status, answer_body = await client.request("POST", path, headers, body)
                except ClientError as exc:
                    outcome.status = None
                    outcome.error = str(exc)[:200]
                else:
                    outcome.status = status
                    outcome.error = (
                        "" if status in self.plan.ok else answer_body[:200].decode(errors="replace")
                    )
                    with contextlib.suppress(ValueError, AttributeError):
                        answer = json.loads(answer_body)
                        outcome.message_id = answer.get("message")
                        outcome.duplicate = answer.get("duplicate")
                retry = outcome.status is None or outcome.status in (429, 503)
                if retry and not outcome.first_error:
                    outcome.first_error = f"{outcome.status}: {outcome.error}"[:200]
                if not retry or time.monotonic() >= deadline:
                    break
                await asyncio.sleep(0.1 * attempt)
            outcome.ended = time.monotonic()
            self.outcomes.append(outcome)
            customer = self._pending_customer.pop(key, None)
            # Answered 202, the message id is not known yet; whether it was stored once is checked
            # in the database after the load.
            known_id = outcome.message_id is not None or self.plan.respond_async
            if outcome.status in self.plan.ok and known_id and kind != "repeat":
                self.answered[key] = (body, outcome.message_id)
                self.answered_keys.append(key)
                if customer is not None and not customer.first_answered:
                    customer.first_answered = True
                    self.known.append(customer)


class ClientError(Exception):
    """No answer: a timeout, a refused or dropped connection, or a reply that is not HTTP."""


class Connection:
    """One kept-alive HTTP/1.1 connection to the server: the load generator's client.

    httpx cost 3.3 ms of CPU per request here, more than the server's 2 ms for one answered 202,
    so with both on two cores the client, not the server, set the rate. This costs a tenth of that:
    it writes the request and reads a Content-Length answer, nothing else (the server sends no
    other kind). Any failure closes the connection; the next request opens a new one."""

    def __init__(self, url: str) -> None:
        host, _, port = url.removeprefix("http://").rstrip("/").partition(":")
        self.host, self.port = host, int(port or 80)
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b""
    ) -> tuple[int, bytes]:
        try:
            return await asyncio.wait_for(self._request(method, path, headers, body), REQUEST_TIMEOUT)
        except (
            OSError,
            TimeoutError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ValueError,
        ) as exc:
            self.close()
            raise ClientError(f"{type(exc).__name__}: {exc}") from exc

    async def _request(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        lines = [
            f"{method} {path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            f"Content-Length: {len(body)}",
        ]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        length, close = None, False
        for line in head[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
            elif name.strip().lower() == "connection" and value.strip().lower() == "close":
                close = True
        if length is None:
            raise ValueError("an answer without Content-Length")
        answer = await self.reader.readexactly(length)
        if close:
            self.close()
        return status, answer

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def floor(url: str, requests: int, concurrency: int, time_limit: float) -> dict[str, Any]:
    """GET /healthz (one SELECT 1 through the same middleware and thread hand-off) as fast as the
    same client can: what one process serves when a request does almost nothing, the ceiling
    under which any figure for the webhook sits."""
    latencies: list[float] = []
    errors = 0
    left = requests
    deadline = time.monotonic() + time_limit

    async def worker(client: Connection) -> None:
        nonlocal left, errors
        while left > 0 and time.monotonic() < deadline:
            left -= 1
            started = time.monotonic()
            try:
                status, _body = await client.request("GET", "/healthz", {})
                if status != 200:
                    errors += 1
            except ClientError:
                errors += 1
            latencies.append(time.monotonic() - started)

    connections = [Connection(url) for _ in range(concurrency)]
    started = time.monotonic()
    tasks = [asyncio.create_task(worker(c)) for c in connections]
    await asyncio.wait(tasks, timeout=time_limit + REQUEST_TIMEOUT + 5)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for connection in connections:
        connection.close()
    seconds = max(0.001, time.monotonic() - started)
    return {
        "requests": len(latencies),
        "errors": errors,
        "requests_per_second": round(len(latencies) / seconds, 1),
        "p50_ms": ms(percentile(latencies, 50)),
        "p99_ms": ms(percentile(latencies, 99)),
    }


# --- The report -------------------------------------------------------------------------------------


def summarize(
    load: Load, server: dict[str, float], stored: dict[str, Any], meta: dict[str, Any]
) -> dict[str, Any]:
    outcomes = load.outcomes
    statuses: dict[str, int] = {}
    for o in outcomes:
        name = str(o.status) if o.status is not None else "no answer"
        statuses[name] = statuses.get(name, 0) + 1
    plan = load.plan
    accepted = [o for o in outcomes if o.status in plan.ok]
    repeats = [o for o in outcomes if o.kind == "repeat"]
    # A repeat holds when it came back as the same message, marked duplicate (answered 202, it
    # holds when it was stored: the database check finds it once).
    repeats_held = [
        o
        for o in repeats
        if (o.status == 202 and plan.respond_async)
        or (o.status == 200 and o.duplicate is True and o.message_id == load.answered[o.repeat_of][1])
    ]
    # A repeat that was answered, but not as that same message: the idempotency key did not hold.
    # (One never answered — a timeout — is a failure, and the database check still sees it.)
    repeats_broken = [o for o in repeats if o.status is not None and o.status < 500 and o not in repeats_held]
    # An original answered as a duplicate (or a repeat answered as new) is a message stored twice
    # or an idempotency key confused with another: either way not what the endpoint promises.
    # After a retry, "duplicate" is the right answer: the first attempt was stored.
    wrong_first = [
        o
        for o in accepted
        if o.kind != "repeat"
        and o.attempts == 1
        and (o.status != 202 if plan.respond_async else (o.status != 201 or o.duplicate is not False))
    ]
    latencies = [o.ended - o.started for o in outcomes]
    ends = sorted(o.ended for o in outcomes)
    steady_rate = None
    steady_seconds = None
    if len(ends) >= 10:
        lo, hi = ends[len(ends) // 10], ends[(len(ends) * 9) // 10]
        if hi > lo:
            steady_seconds = hi - lo
            steady_rate = ((len(ends) * 9) // 10 - len(ends) // 10) / steady_seconds
    whole = max(0.001, (ends[-1] if ends else load.started_at) - load.started_at)
    lost = stored.get("missing", 0) + stored.get("other_message_id", 0)
    duplicates = (
        stored.get("stored_twice", 0) + len(repeats_broken) + len(wrong_first) + stored.get("unexpected", 0)
    )
    failures = [f"{o.kind} {o.key}: {o.status} {o.error}" for o in outcomes if o.status not in plan.ok]
    failures += [f"{o.kind} {o.key}: retried after {o.first_error}" for o in outcomes if o.first_error]
    by_kind = {
        kind: ms(percentile([o.ended - o.started for o in outcomes if o.kind == kind], 50))
        for kind in ("new", "follow_up", "repeat")
    }
    return {
        **meta,
        "requests": {
            "planned": load.plan.requests,
            "sent": len(outcomes),
            "accepted": len(accepted),
            "new_customer": sum(1 for o in outcomes if o.kind == "new"),
            "follow_up": sum(1 for o in outcomes if o.kind == "follow_up"),
            "repeats": len(repeats),
            "repeats_held": len(repeats_held),
            "retried": sum(1 for o in outcomes if o.attempts > 1),
            "retries": sum(o.attempts - 1 for o in outcomes),
            "statuses": dict(sorted(statuses.items())),
            "no_answer": statuses.get("no answer", 0),
            "stopped_by_time_limit": load.stopped_by_time,
        },
        "rate": {
            "steady_requests_per_second": None if steady_rate is None else round(steady_rate, 1),
            "steady_seconds": None if steady_seconds is None else round(steady_seconds, 2),
            "whole_run_requests_per_second": round(len(outcomes) / whole, 1),
            "whole_run_seconds": round(whole, 2),
        },
        "latency_ms": {
            "p50": ms(percentile(latencies, 50)),
            "p95": ms(percentile(latencies, 95)),
            "p99": ms(percentile(latencies, 99)),
            "max": ms(max(latencies, default=None)),
            "p50_by_kind": by_kind,
        },
        "persistence": {
            "lost": lost,
            "duplicates": duplicates,
            "stored_in_database": stored.get("stored_in"),
            "unique_accepted_keys": len({o.key for o in accepted}),
            **{k: v for k, v in stored.items() if k != "stored_in"},
        },
        "failures": len(failures),
        "failure_samples": failures[:20],
        "server": {
            "peak_rss_mib": round(server.get("VmHWM", 0.0), 1),
            "cpu_seconds": round(server.get("cpu_seconds", 0.0), 1),
            # During the load only (worker thread included): the server's cost of one request.
            "cpu_seconds_load": round(server.get("cpu_seconds_load", 0.0), 1),
            "cpu_ms_per_request": (
                round(1000 * server.get("cpu_seconds_load", 0.0) / len(outcomes), 2) if outcomes else None
            ),
            # Share of a core the server had during the load: below 1, it waited (locks, or other
            # work on the machine took the cores) rather than ran out of CPU.
            "cores_used": round(
                server.get("cpu_seconds_load", 0.0) / max(0.001, load.finished_at - load.started_at), 2
            ),
            # What one fully used core would serve at this cost per request: the CPU-bound ceiling
            # of one process (one interpreter lock), whatever else ran on the machine meanwhile.
            "one_core_ceiling_requests_per_second": (
                round(len(outcomes) / server["cpu_seconds_load"], 1)
                if server.get("cpu_seconds_load")
                else None
            ),
        },
    }


def table(result: dict[str, Any]) -> str:
    r, rate, lat, p = result["requests"], result["rate"], result["latency_ms"], result["persistence"]

    def f(value: Any) -> str:
        return "-" if value is None else f"{value:g}" if isinstance(value, float) else str(value)

    q = result.get("queries_per_request") or {}
    queries = " / ".join(
        f(q.get(k, {}).get("queries"))
        for k in ("new_customer", "follow_up", "new_thread", "follow_up_in_thread", "repeat")
    )
    if q:
        queries += (
            f"  (BEGIN/COMMIT: {f(q.get('follow_up', {}).get('transaction_statements'))} of a follow-up's)"
        )
    rows = [
        ("database", result["database"]),
        ("concurrency (connections)", f(result["concurrency"])),
        (
            "answered",
            "202 once stored (Prefer: respond-async)" if result.get("respond_async") else "after processing",
        ),
        ("requests sent / accepted", f"{r['sent']} / {r['accepted']}"),
        (
            "  new customers / follow-ups / repeats",
            f"{r['new_customer']} / {r['follow_up']} / {r['repeats']}",
        ),
        ("final status codes", ", ".join(f"{k}: {v}" for k, v in r["statuses"].items())),
        ("requests retried (timeout, 429, 503)", f"{r['retried']} ({r['retries']} retries)"),
        ("rate, steady phase (requests/s)", f(rate["steady_requests_per_second"])),
        ("rate, whole run (requests/s)", f(rate["whole_run_requests_per_second"])),
        ("latency p50 / p95 (ms)", f"{f(lat['p50'])} / {f(lat['p95'])}"),
        ("latency p99 / max (ms)", f"{f(lat['p99'])} / {f(lat['max'])}"),
        (
            "  p50 new / follow-up / repeat (ms)",
            " / ".join(f(lat["p50_by_kind"][k]) for k in ("new", "follow_up", "repeat")),
        ),
        (
            "stored messages / unique accepted keys",
            f"{f(p['stored_in_database'])} / {p['unique_accepted_keys']}",
        ),
        *(
            [
                (
                    "processed behind: pending at load end / left",
                    f"{f(b['pending_after_load'])} / {f(b['left_unprocessed'])}",
                ),
                (
                    "  all made after (s) / messages made per s",
                    f"{f(b['seconds_from_load_start'])} / {f(b['messages_per_second'])}",
                ),
            ]
            if (b := result.get("processed_behind"))
            else []
        ),
        ("lost", f(p["lost"])),
        ("duplicates", f(p["duplicates"])),
        ("repeats answered as the same message", f"{r['repeats_held']} / {r['repeats']}"),
        ("raw payloads by state", ", ".join(f"{k}: {v}" for k, v in p.get("raw_by_state", {}).items())),
        ("SQL queries: new/follow-up/new thread/in thread/repeat", queries),
        (
            "GET /healthz floor (requests/s, CPU ms each)",
            "-"
            if not result.get("healthz_floor")
            else f"{f(result['healthz_floor']['requests_per_second'])}, "
            f"{f(result['healthz_floor']['server_cpu_ms_per_request'])}",
        ),
        ("server peak RSS (MiB)", f(result["server"]["peak_rss_mib"])),
        (
            "server CPU per request (ms) / one-core ceiling (req/s)",
            f"{f(result['server']['cpu_ms_per_request'])} / "
            f"{f(result['server']['one_core_ceiling_requests_per_second'])}",
        ),
        ("server cores used during the load", f(result["server"]["cores_used"])),
        (
            "server CPU in load (s) / client CPU (s) / run (s)",
            f"{f(result['server']['cpu_seconds_load'])} / {f(result['client_cpu_seconds'])} / "
            f"{f(rate['whole_run_seconds'])}",
        ),
        ("load average before / after", " / ".join(f(x) for x in result["load_average"])),
    ]
    return text_table("Frontdesk HTTP inbound (API channel) load test", rows)


# --- Main -------------------------------------------------------------------------------------------


def sqlite_template() -> Path:
    """Where a migrated, empty SQLite database is kept: named by a digest of every migration of
    the project and of the pinned dependencies (whose apps have migrations of their own)."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "frontdesk").glob("**/migrations/*.py")):
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    for name in ("constraints.txt", "pyproject.toml"):
        with contextlib.suppress(OSError):
            digest.update((ROOT / name).read_bytes())
    return Path(tempfile.gettempdir()) / f"frontdesk-bench-{digest.hexdigest()[:16]}.sqlite3"


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


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=None, help="requests in all (6000; --quick: 300)")
    parser.add_argument("--concurrency", type=int, default=None, help="connections at once (32; --quick: 8)")
    parser.add_argument(
        "--customers", type=int, default=None, help="most distinct customers (2000; --quick: 100)"
    )
    parser.add_argument(
        "--new-share", type=float, default=1 / 3, help="share of first messages of new customers"
    )
    parser.add_argument(
        "--repeat-share", type=float, default=0.01, help="share of requests that resend an earlier one"
    )
    parser.add_argument("--quick", action="store_true", help="small and short (30 s limit)")
    parser.add_argument(
        "--time-limit", type=float, default=None, help="seconds of sending (120; --quick: 30)"
    )
    parser.add_argument(
        "--database-url", default="", help="default: a fresh SQLite file in a temporary folder"
    )
    parser.add_argument("--json-out", default="", help="default: bench/results/http-inbound-<date>.json")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary folder (database, server log)"
    )
    parser.add_argument(
        "--floor",
        type=int,
        default=None,
        help="GET /healthz requests first, for the one-process ceiling (2000; --quick: 100; 0: none)",
    )
    parser.add_argument("--no-queries", action="store_true", help="skip counting SQL queries per request")
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="migrate a new SQLite file even when a migrated copy of the same migrations is kept",
    )
    # Helpers: --setup "" (no migrate), "-" (migrate) or a template path (migrate, keep a copy).
    parser.add_argument("--setup", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--after-load", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--drain", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument(
        "--respond-async",
        action="store_true",
        help="send Prefer: respond-async (answered 202 once stored); then wait for the processing",
    )
    args = parser.parse_args(argv)
    args.requests = args.requests if args.requests is not None else (300 if args.quick else 6000)
    args.concurrency = args.concurrency if args.concurrency is not None else (8 if args.quick else 32)
    args.customers = args.customers if args.customers is not None else (100 if args.quick else 2000)
    args.floor = args.floor if args.floor is not None else (100 if args.quick else 2000)
    args.time_limit = args.time_limit if args.time_limit is not None else (30.0 if args.quick else 120.0)
    if args.requests < 1 or args.concurrency < 1 or args.customers < 1:
        parser.error("--requests, --concurrency and --customers must be at least 1")
    if not 0 <= args.repeat_share < 1 or not 0 <= args.new_share <= 1:
        parser.error("--repeat-share must be in [0, 1), --new-share in [0, 1]")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.setup is not None:
        print(json.dumps(setup_shop(args.setup != "", args.setup if args.setup != "-" else "")))
        return 0
    if args.after_load is not None:
        print(json.dumps(after_load(args.after_load)))
        return 0
    if args.drain is not None:
        print(json.dumps(drain(args.drain, args.time_limit)))
        return 0

    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    folder = Path(tempfile.mkdtemp(prefix="frontdesk-http-bench-"))
    (folder / "var").mkdir()
    database_url = args.database_url or f"sqlite:///{folder / 'bench.sqlite3'}"
    port = free_port()
    env = {**server_env(database_url, folder, port), **HOOK_RATE_LIMITS_OFF}
    server: Server | None = None
    tail = ""
    try:
        phases: dict[str, float] = {}  # wall seconds of each step, to see where a run goes
        mark = time.monotonic()

        def phase(name: str) -> None:
            nonlocal mark
            phases[name] = round(time.monotonic() - mark, 1)
            mark = time.monotonic()

        # Migrating a new SQLite file takes most of a short run: a migrated copy is kept in the
        # temporary folder, named by the migrations it has, and reused.
        template = "" if args.database_url or args.fresh else str(sqlite_template())
        if template and Path(template).exists():
            shutil.copyfile(template, folder / "bench.sqlite3")
            shop = run_helper(env, "--setup", "", timeout=300)
        else:
            shop = run_helper(env, "--setup", template or "-", timeout=900)
        phase("setup")
        load_before = os.getloadavg()[0]
        server = Server(env, port, folder / "server.log")
        server.wait_ready()
        phase("server_start")
        # Start-up (imports, Django set-up) is not the load's: CPU is counted from here.
        at_ready = server.status().get("cpu_seconds", 0.0)
        # For a profiler: py-spy record --idle --threads -p <pid> (see bench/README.md).
        print(f"server pid {server.process.pid} on {server.url}", file=sys.stderr, flush=True)
        plan = Plan(
            url=server.url,
            channel=shop["channel"],
            secret=shop["secret"],
            run=shop["run"],
            requests=args.requests,
            concurrency=args.concurrency,
            customers=args.customers,
            new_share=args.new_share,
            repeat_share=args.repeat_share,
            time_limit=args.time_limit,
            seed=seed,
            respond_async=args.respond_async,
        )
        baseline = None
        if args.floor > 0:
            before = server.status().get("cpu_seconds", 0.0)
            baseline = asyncio.run(
                floor(server.url, args.floor, args.concurrency, min(30.0, args.time_limit))
            )
            after = server.status().get("cpu_seconds", 0.0)
            baseline["server_cpu_ms_per_request"] = (
                round(1000 * (after - before) / baseline["requests"], 2) if baseline["requests"] else None
            )
            at_ready = after
        phase("healthz_floor")
        load = Load(plan)
        cpu_before = resource.getrusage(resource.RUSAGE_SELF)
        asyncio.run(asyncio.wait_for(load.run(), timeout=args.time_limit + REQUEST_TIMEOUT + 30))
        cpu_after = resource.getrusage(resource.RUSAGE_SELF)
        phase("load")
        status = server.status()
        status["cpu_seconds_load"] = status.get("cpu_seconds", 0.0) - at_ready
        behind = None
        if args.respond_async:
            # Answered 202, the messages are still being made by the server's worker thread.
            behind = run_helper(
                env,
                "--drain",
                str(shop["channel_id"]),
                "--time-limit",
                str(args.time_limit * 4),
                timeout=args.time_limit * 4 + 120,
            )
            # CLOCK_MONOTONIC is the machine's: the helper's reading compares with this process's.
            made = max(0.001, behind.pop("done_at") - load.started_at)
            behind["seconds_from_load_start"] = round(made, 1)
            behind["messages_per_second"] = round(
                len({o.key for o in load.outcomes if o.status == 202}) / made, 1
            )
            phase("processing_behind")
        tail = server.log_tail()
        # Stopped before verifying: its worker thread must not change anything meanwhile.
        server.stop()
        server = None
        phase("server_stop")
        spec = {
            "channel_id": shop["channel_id"],
            "accepted": {
                o.key: o.message_id for o in load.outcomes if o.status in plan.ok and o.kind != "repeat"
            },
            # Their senders would retry with the same key: stored once or not at all is right.
            "unknown": [o.key for o in load.outcomes if o.status is None or o.status >= 500],
        }
        spec_path = folder / "verify.json"
        spec_path.write_text(json.dumps({**spec, "queries": not args.no_queries}))
        checked = run_helper(env, "--after-load", str(spec_path), timeout=300)
        stored, queries = checked["stored"], checked["queries"]
        phase("check_and_queries")
        meta = {
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "database": "postgresql" if database_url.startswith("postgres") else "sqlite",
            "concurrency": args.concurrency,
            "customers": args.customers,
            "new_share": round(args.new_share, 3),
            "repeat_share": args.repeat_share,
            "seed": seed,
            "cpus": os.cpu_count(),
            # The load generator runs on the same machine: its CPU is CPU the server did not get.
            "client_cpu_seconds": round(
                (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime), 1
            ),
            # Other work on the machine skews every number: the 1-minute load before and after.
            "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            "queries_per_request": queries,
            "healthz_floor": baseline,
            "respond_async": args.respond_async,
            "processed_behind": behind,
            "phase_seconds": phases,
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
    print(f"results: {write_results(result, args.json_out, 'http-inbound')}")
    p = result["persistence"]
    return 1 if p["lost"] or p["duplicates"] else 0


if __name__ == "__main__":
    sys.exit(main())
