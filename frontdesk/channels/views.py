"""Public endpoints of channels: the inbound webhook every channel kind can receive on.

Order of work for a webhook, cheapest refusal first: method, channel, rate limit, size — then the
payload is committed as RawInbound *before* it is parsed, and only then processed. Whatever the
processing makes of it, the raw payload stays: rejected (bad signature, bad input: a precise 4xx),
processed, duplicate, or failed (a bug or an outage: 202, and the scheduler's sweeper retries it).

A webhook sent with `Prefer: respond-async` never reaches this view: respond_async.py checks it the
same way, stores it and answers 202 before Django's request stack, and a worker processes it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import structlog
from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_exempt

from frontdesk.desk.actions.inbound import ReceiveResult, process_raw, store_raw
from frontdesk.desk.errors import ActionError
from frontdesk.desk.models import Channel

from . import ratelimit
from .base import InboundRejected, RawPayload

log = structlog.get_logger(__name__)

# Never stored with the raw payload: credentials of the caller that are not ours to keep.
SKIPPED_HEADERS = frozenset({"cookie", "authorization", "proxy-authorization"})
MAX_STORED_HEADERS = 100
MAX_HEADER_CHARS = 8192


def json_error(
    status: int,
    code: str,
    message: str,
    fields: Any = None,
    headers: dict[str, str] | None = None,
) -> JsonResponse:
    """The one JSON error shape (desk.errors.ActionError.as_dict) for channel endpoints."""
    body: dict[str, Any] = {"code": code, "message": str(message)}
    if fields:
        body["fields"] = fields
    return JsonResponse({"error": body}, status=status, headers=headers)


def find_channel(public_id: str, kind: str | None = None) -> Channel | None:
    """The enabled channel with this public id, of a live tenant; None for anything else."""
    try:
        key = uuid.UUID(public_id)
    except (ValueError, TypeError):
        return None
    channels = Channel.objects.select_related("tenant").filter(
        public_id=key, disabled=False, tenant__is_active=True
    )
    if kind is not None:
        channels = channels.filter(kind=kind)
    return channels.first()


def request_headers(request: HttpRequest) -> dict[str, str]:
    """Headers to keep with the raw payload (lower-case names), so it can be verified again later."""
    return kept_headers((name, str(value)) for name, value in request.headers.items())


def kept_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    kept: dict[str, str] = {}
    for name, value in headers:
        lname = name.lower()
        if lname in SKIPPED_HEADERS or len(kept) >= MAX_STORED_HEADERS:
            continue
        kept[lname] = value[:MAX_HEADER_CHARS]
    return kept


class BodyTooLarge(Exception):
    pass


def read_body(request: HttpRequest, limit: int) -> bytes:
    """The request body, refusing more than `limit` bytes without reading them all into memory."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise BodyTooLarge
    body = request.read(limit + 1)
    if len(body) > limit:
        raise BodyTooLarge
    return body


def too_large(limit: int) -> JsonResponse:
    return json_error(
        413,
        "too_large",
        _("The request body is larger than the limit of %(size)s.") % {"size": filesizeformat(limit)},
    )


def rate_limit_message(retry_after: int) -> str:
    return ngettext(
        "Too many requests. Try again in %(n)d second.",
        "Too many requests. Try again in %(n)d seconds.",
        retry_after,
    ) % {"n": retry_after}


def rate_limited(retry_after: int) -> JsonResponse:
    return json_error(
        429, "rate_limited", rate_limit_message(retry_after), headers={"Retry-After": str(retry_after)}
    )


def hook_rate_limits(channel: Channel, ip: str) -> ratelimit.Limited | None:
    """Count one webhook request against its channel's limits (per channel; per channel and IP)."""
    return ratelimit.check(
        [
            ("FRONTDESK_RATE_HOOK_PER_CHANNEL", str(channel.public_id)),
            ("FRONTDESK_RATE_HOOK_PER_IP", f"{channel.public_id}:{ip}"),
        ]
    )


def payload_from(request: HttpRequest, body: bytes) -> RawPayload:
    return RawPayload(
        body=body,
        content_type=str(request.META.get("CONTENT_TYPE", "")),
        headers=request_headers(request),
        remote_addr=ratelimit.client_ip(request),
    )


@csrf_exempt  # callers are servers, authenticated by the payload's signature, not a browser session
def inbound_hook(request: HttpRequest, public_id: str) -> HttpResponse:
    """`POST /hooks/<channel public id>/`: receive one payload for a channel."""
    if request.method != "POST":
        return json_error(
            405,
            "method_not_allowed",
            _("Use POST to send messages to this address."),
            headers={"Allow": "POST"},
        )
    channel = find_channel(public_id)
    # Live chat speaks only through /chat/<id>/ (with a visitor token): its public id is in the
    # shop's pages, so its webhook address must not take anything.
    if channel is None or channel.adapter.capabilities.live:
        return json_error(404, "not_found", _("There is no channel at this address."))
    ip = ratelimit.client_ip(request)
    over = hook_rate_limits(channel, ip)
    if over is not None:
        log.info("inbound.rate_limited", channel=channel.pk, ip=ip)
        return rate_limited(over.retry_after)
    limit = settings.FRONTDESK_MAX_BODY_BYTES
    try:
        body = read_body(request, limit)
    except BodyTooLarge:
        log.info("inbound.too_large", channel=channel.pk, ip=ip)
        return too_large(limit)
    return receive(channel, payload_from(request, body))


def receive(channel: Channel, payload: RawPayload) -> JsonResponse:
    """Store the payload, then process it; answer the sender in the JSON shape of the API channel."""
    outcome = store_and_process(channel, payload)
    if isinstance(outcome, Refused):
        return json_error(outcome.status, outcome.code, outcome.message, outcome.fields, outcome.headers)
    if isinstance(outcome, Deferred):
        return JsonResponse({"status": "accepted", "stored": outcome.raw_id}, status=202)
    results = outcome.results
    if not results:
        return JsonResponse({"stored": outcome.raw_id, "messages": []}, status=200)
    first = results[0]
    body: dict[str, Any] = {
        "conversation": first.conversation.number,
        "message": first.message.pk,
        "duplicate": not first.created,
    }
    if len(results) > 1:
        body["messages"] = [
            {"conversation": r.conversation.number, "message": r.message.pk, "duplicate": not r.created}
            for r in results
        ]
    return JsonResponse(body, status=201 if any(r.created for r in results) else 200)


@dataclass(frozen=True)
class Received:
    raw_id: int
    results: list[ReceiveResult]


@dataclass(frozen=True)
class Refused:
    """The payload was refused (it is kept, state rejected) or could not be stored (503)."""

    status: int
    code: str
    message: str
    fields: Any = None
    headers: dict[str, str] | None = None


@dataclass(frozen=True)
class Deferred:
    """Stored but not processed (an unexpected error): the sweeper processes it again later."""

    raw_id: int


def store_and_process(channel: Channel, payload: RawPayload) -> Received | Refused | Deferred:
    """The shared core of every public inbound endpoint: commit the raw payload, then process it.

    The raw payload is committed first in every case but an unreachable database (503: the sender
    must retry). Never raises for anything the sender controls.
    """
    try:
        raw = store_raw(channel, payload)
    except DatabaseError:
        log.exception("inbound.store_failed", channel=channel.pk)
        return Refused(
            503,
            "unavailable",
            _("The message could not be stored. Send it again later."),
            headers={"Retry-After": "30"},
        )
    try:
        results = process_raw(raw)
    except InboundRejected as exc:
        log.info("inbound.rejected", channel=channel.pk, raw=raw.pk, code=exc.code, status=exc.status)
        return Refused(exc.status, exc.code, exc.message, exc.fields)
    except ActionError as exc:
        log.info("inbound.invalid", channel=channel.pk, raw=raw.pk, code=exc.code)
        return Refused(exc.status, exc.code, exc.message, exc.fields or None)
    except Exception:
        # Not the sender's fault: the payload is safe (state failed) and the sweeper processes it
        # again. Accepting it stops the sender from retrying a payload we already hold.
        log.exception("inbound.processing_failed", channel=channel.pk, raw=raw.pk)
        return Deferred(raw.pk)
    return Received(raw.pk, results)
