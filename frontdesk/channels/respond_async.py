"""`Prefer: respond-async` on the inbound webhook: checked, stored, answered 202, processed behind.

A sender that asks for it (RFC 7240, `Prefer: respond-async`) is answered as soon as its payload is
checked and committed, without waiting for the customer, the conversation and the promise to be
decided: `202 {"status": "accepted", "stored": <raw id>}` with `Preference-Applied: respond-async`.
Processing is a background task queued in the same transaction (`store_receipts`), so a payload
answered 202 is always processed, and once.

Every refusal the synchronous path answers is answered here too, with the same status, code and
fields: no such channel (404), rate limits (429), the size limit (413, by BodySizeLimit in front of
this), and whatever the adapter's `parse_inbound` refuses: signature, content type, JSON, fields.
The checks run the adapter's own parser; only the receiving (customer, thread, message, promise)
waits. What the sender does not get is the outcome of that: the conversation number and message id.

Why in front of Django: a webhook through Django's request stack costs 4-5 ms of CPU before the view
runs (middleware, the thread hand-off), which caps one process far below what a shop's backend may
send after an outage. Here the body is read on the event loop and handed to one receiving thread,
which checks and stores whatever has queued up meanwhile in one transaction: one commit for many
requests, on SQLite and PostgreSQL alike. docs/channels.md ("Answered before processing") and
docs/performance.md have the measured figures.
"""

from __future__ import annotations

import asyncio
import json
import queue
import re
import secrets
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connections
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation.trans_real import parse_accept_lang_header

from frontdesk.desk.actions.inbound import Receipt, store_receipts
from frontdesk.desk.errors import ActionError
from frontdesk.desk.models import Channel

from .base import InboundRejected, RawPayload
from .views import hook_rate_limits, kept_headers, rate_limit_message

log = structlog.get_logger(__name__)

HOOK_PATH = re.compile(r"/hooks/([^/]+)/?")
# Payloads checked and stored in one transaction at most; the requests waiting meanwhile.
MAX_BATCH = 100
MAX_WAITING = 2000

Scope = dict[str, Any]


@dataclass(frozen=True)
class Arrival:
    """One webhook request, as read on the event loop."""

    public_id: str
    payload: RawPayload
    language: str = ""


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def error(
    status: int, code: str, message: str, fields: Any = None, headers: dict[str, str] | None = None
) -> Answer:
    """The JSON error shape of every channel endpoint (frontdesk.channels.views.json_error)."""
    body: dict[str, Any] = {"code": code, "message": str(message)}
    if fields:
        body["fields"] = fields
    return Answer(status, {"error": body}, headers or {})


def unavailable(language: str) -> Answer:
    with translation.override(language or settings.LANGUAGE_CODE):
        return error(
            503,
            "unavailable",
            _("The message could not be stored. Send it again later."),
            headers={"Retry-After": "30"},
        )


def busy(language: str) -> Answer:
    # More requests wait than the receiving thread works off in a few seconds: the sender retries
    # (as after a 429) rather than this process queueing without bound.
    with translation.override(language or settings.LANGUAGE_CODE):
        return error(
            503,
            "busy",
            _("Too many messages are arriving at once. Send it again in a moment."),
            headers={"Retry-After": "1"},
        )


def accept(arrivals: list[Arrival]) -> list[Answer]:
    """Check a batch of arrivals, store them in one transaction and queue their processing."""
    channels = _channels({a.public_id for a in arrivals})
    answers: list[Answer | None] = []  # None: accepted, answered once stored
    receipts: list[Receipt | None] = []
    for arrival in arrivals:
        with translation.override(arrival.language or settings.LANGUAGE_CODE):
            answer, receipt = _check(channels.get(arrival.public_id), arrival)
        answers.append(answer)
        receipts.append(receipt)
    to_store = [r for r in receipts if r is not None]
    if not to_store:
        return [a for a in answers if a is not None]
    try:
        raws = iter(store_receipts(to_store))
    except DatabaseError:
        # As on the synchronous path: nothing stored, nothing refused; the sender sends it again.
        log.exception("inbound.store_failed", count=len(to_store))
        return [
            answer if receipt is None and answer is not None else unavailable(arrival.language)
            for arrival, answer, receipt in zip(arrivals, answers, receipts, strict=True)
        ]
    done: list[Answer] = []
    for answer, receipt in zip(answers, receipts, strict=True):
        raw = next(raws) if receipt is not None else None
        if answer is None:
            assert raw is not None
            answer = Answer(
                202, {"status": "accepted", "stored": raw.pk}, {"Preference-Applied": "respond-async"}
            )
        done.append(answer)
    return done


def _channels(public_ids: set[str]) -> dict[str, Channel]:
    """The enabled channels of live tenants among these public ids, in one query."""
    keys: dict[uuid.UUID, str] = {}
    for public_id in public_ids:
        try:
            keys[uuid.UUID(public_id)] = public_id
        except (ValueError, TypeError):
            continue
    if not keys:
        return {}
    found = Channel.objects.select_related("tenant").filter(
        public_id__in=list(keys), disabled=False, tenant__is_active=True
    )
    return {keys[c.public_id]: c for c in found}


def _check(channel: Channel | None, arrival: Arrival) -> tuple[Answer | None, Receipt | None]:
    """The synchronous path's checks, in its order. The receipt, when there is one, is stored; the
    answer, when there is one, refuses the request (a refusal by the adapter is stored too)."""
    # Live chat speaks only through /chat/<id>/ (as in frontdesk.channels.views.inbound_hook).
    if channel is None or channel.adapter.capabilities.live:
        return error(404, "not_found", _("There is no channel at this address.")), None
    ip = arrival.payload.remote_addr
    over = hook_rate_limits(channel, ip)
    if over is not None:
        log.info("inbound.rate_limited", channel=channel.pk, ip=ip)
        retry = {"Retry-After": str(over.retry_after)}
        return error(429, "rate_limited", rate_limit_message(over.retry_after), headers=retry), None
    try:
        channel.adapter.parse_inbound(channel, arrival.payload)
    except InboundRejected as exc:
        log.info("inbound.rejected", channel=channel.pk, code=exc.code, status=exc.status)
        refused = Receipt(channel, arrival.payload, refused=str(exc.message) or exc.code)
        return error(exc.status, exc.code, exc.message, exc.fields), refused
    except ActionError as exc:
        log.info("inbound.invalid", channel=channel.pk, code=exc.code)
        refused = Receipt(channel, arrival.payload, refused=str(exc.message) or exc.code)
        return error(exc.status, exc.code, exc.message, exc.fields or None), refused
    except Exception:
        # A bug in the parser is not the sender's fault: stored, the worker tries it and records it.
        log.exception("inbound.check_failed", channel=channel.pk)
    return None, Receipt(channel, arrival.payload)


class Receiver:
    """The one thread that checks and stores arrivals, a batch at a time, with its own connection."""

    def __init__(self, *, max_batch: int = MAX_BATCH, max_waiting: int = MAX_WAITING) -> None:
        self.max_batch = max_batch
        # None asks the thread to stop (after what was queued before it).
        self.waiting: queue.Queue[tuple[Arrival, Callable[[Answer], None]] | None] = queue.Queue(max_waiting)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, arrival: Arrival, done: Callable[[Answer], None]) -> bool:
        """Queue an arrival; `done` is called (on the receiving thread) with its answer. False when
        too many are waiting."""
        self._start()
        try:
            self.waiting.put_nowait((arrival, done))
        except queue.Full:
            return False
        return True

    def _start(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="webhook-receiver", daemon=True)
                self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Answer what is queued, close the thread's connection and end it (a later submit starts
        a new one)."""
        with self._lock:
            thread, self._thread = self._thread, None
            if thread is None:
                return
            self.waiting.put(None)
        thread.join(timeout)

    def _run(self) -> None:
        try:
            while self._receive_batch():
                pass
        finally:
            connections.close_all()

    def _receive_batch(self) -> bool:
        """Receive what is waiting (at least one; at most max_batch). False when asked to stop."""
        first = self.waiting.get()
        if first is None:
            return False
        batch = [first]
        stopping = False
        while len(batch) < self.max_batch:
            try:
                item = self.waiting.get_nowait()
            except queue.Empty:
                break
            if item is None:
                stopping = True
                break
            batch.append(item)
        try:
            close_old_connections()
            answers = accept([arrival for arrival, _done in batch])
        except Exception:
            log.exception("inbound.receiver_failed", count=len(batch))
            answers = [unavailable(arrival.language) for arrival, _done in batch]
        for (_arrival, done), answer in zip(batch, answers, strict=True):
            done(answer)
        return not stopping


class RespondAsync:
    """ASGI middleware: webhook posts that prefer respond-async are received here, the rest go on."""

    def __init__(self, app: Any, receiver: Receiver | None = None) -> None:
        self.app = app
        self.receiver = receiver or Receiver()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        match = HOOK_PATH.fullmatch(scope.get("path", "")) if scope["type"] == "http" else None
        if match is None or scope.get("method") != "POST" or not prefers_async(scope.get("headers", [])):
            await self.app(scope, receive, send)
            return
        body = await read_body(receive)
        if body is None:
            return  # the client went away
        arrival = arrival_from(scope, match[1], body)
        loop = asyncio.get_running_loop()
        answered: asyncio.Future[Answer] = loop.create_future()

        def done(answer: Answer) -> None:
            loop.call_soon_threadsafe(_settle, answered, answer)

        answer = await answered if self.receiver.submit(arrival, done) else busy(arrival.language)
        await respond(send, answer, request_id(scope))


def _settle(future: asyncio.Future[Answer], answer: Answer) -> None:
    if not future.done():  # a client that went away cancelled it; its payload is stored anyway
        future.set_result(answer)


def prefers_async(headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether a Prefer header asks for respond-async (RFC 7240: tokens, case-insensitive)."""
    for name, value in headers:
        if name.lower() != b"prefer":
            continue
        for preference in value.split(b","):
            if preference.split(b";")[0].split(b"=")[0].strip().lower() == b"respond-async":
                return True
    return False


async def read_body(receive: Any) -> bytes | None:
    """The whole body (BodySizeLimit, in front, stops one over the limit); None on a disconnect."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def arrival_from(scope: Scope, public_id: str, body: bytes) -> Arrival:
    # Joined like Django's request.headers, so a stored payload looks the same on both paths.
    joined: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        joined[name] = f"{joined[name]},{value}" if name in joined else value
    client = scope.get("client") or ("", 0)
    return Arrival(
        public_id=public_id,
        payload=RawPayload(
            body=body,
            content_type=joined.get("content-type", ""),
            headers=kept_headers(joined.items()),
            remote_addr=str(client[0] or "unknown")[:64],
        ),
        language=language_of(joined.get("accept-language", "")),
    )


def language_of(accept_language: str) -> str:
    """The first of the site's languages the sender accepts (as LocaleMiddleware picks it)."""
    for code, _quality in parse_accept_lang_header(accept_language[:255]):
        if code == "*":
            break
        try:
            return translation.get_supported_language_variant(code)
        except LookupError:
            continue
    return settings.LANGUAGE_CODE


def request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name.lower() == b"x-request-id":
            return value.decode("latin-1")[:64]
    return secrets.token_hex(8)


async def respond(send: Any, answer: Answer, request_id: str) -> None:
    body = json.dumps(answer.body).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"x-request-id", request_id.encode("latin-1", "replace")),
    ]
    headers += [(name.lower().encode(), value.encode("latin-1")) for name, value in answer.headers.items()]
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
