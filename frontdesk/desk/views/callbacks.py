"""The callbacks page: calls customers asked for, due ones first, with a form per call to log how it
went or to cancel it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from ..actions import callbacks as actions
from ..actions.acknowledge import customer_zone
from ..errors import ActionError, NotFound
from ..models import Callback, CallbackOutcome, CallbackState, Membership
from .workspace import tenant_zone, workspace_view

# Rows per section of the page: a shop with more open callbacks than this has other problems.
SECTION_LIMIT = 200


@dataclass
class CallbackRow:
    callback: Callback
    customer_name: str
    # The window on the shop's clock, and on the customer's when it differs.
    window_shop: str
    window_customer: str
    # Due, but not before this (an unanswered try is retried later).
    retry_at: dt.datetime | None
    error: str = ""
    note: str = ""


def _window(callback: Callback, zone: ZoneInfo) -> str:
    start, end = callback.window_start.astimezone(zone), callback.window_end.astimezone(zone)
    until = end.strftime("%H:%M") if end.date() == start.date() else end.strftime("%Y-%m-%d %H:%M")
    return f"{start:%Y-%m-%d %H:%M}–{until} ({zone.key})"


def _row(callback: Callback, shop_zone: ZoneInfo, now: dt.datetime) -> CallbackRow:
    conversation = callback.conversation
    zone = customer_zone(conversation)
    waiting = callback.next_attempt_at is not None and callback.next_attempt_at > now
    return CallbackRow(
        callback=callback,
        customer_name=conversation.customer.name,
        window_shop=_window(callback, shop_zone),
        window_customer=_window(callback, zone) if zone.key != shop_zone.key else "",
        retry_at=callback.next_attempt_at if waiting else None,
    )


def _sections(member: Membership, now: dt.datetime) -> dict[str, list[CallbackRow]]:
    shop_zone = tenant_zone(member)
    base = Callback.objects.filter(tenant_id=member.tenant_id).select_related(
        "conversation__customer", "conversation__tenant"
    )
    due_now, due_later, scheduled = actions.queue_order(now)
    return {
        "due": [
            _row(c, shop_zone, now)
            for c in base.filter(due_now).order_by(Coalesce("next_attempt_at", "due_at"), "pk")[
                :SECTION_LIMIT
            ]
        ],
        "retry": [
            _row(c, shop_zone, now)
            for c in base.filter(due_later).order_by("next_attempt_at", "pk")[:SECTION_LIMIT]
        ],
        "scheduled": [
            _row(c, shop_zone, now) for c in base.filter(scheduled).order_by("due_at", "pk")[:SECTION_LIMIT]
        ],
    }


def _render(
    request: HttpRequest, *, error_for: int | None = None, error: str = "", note: str = "", status: int = 200
) -> HttpResponse:
    member: Membership = request.member  # type: ignore[attr-defined]
    sections = _sections(member, timezone.now())
    for row in (r for rows in sections.values() for r in rows):
        if row.callback.pk == error_for:
            row.error, row.note = error, note
            error = ""
    context = {
        "nav": "callbacks",
        "sections": sections,
        "outcomes": CallbackOutcome.choices,
        "states": CallbackState,
        # An error for a callback that is no longer listed (finished meanwhile) is shown above.
        "error": error,
    }
    return render(request, "desk/callbacks/callbacks.html", context, status=status)


@workspace_view
@require_GET
def callbacks(request: HttpRequest) -> HttpResponse:
    """Calls to make: due now, waiting for another try, then scheduled."""
    return _render(request)


def _act(request: HttpRequest, callback_id: int, run: str) -> HttpResponse:
    member: Membership = request.member  # type: ignore[attr-defined]
    callback = actions.access_callback(member, callback_id)
    note = request.POST.get("note", "")
    try:
        if run == "log":
            actions.do_log_call(member, callback, request.POST.get("outcome", ""), note)
        else:
            actions.do_cancel_callback(member, callback)
    except NotFound:
        raise
    except ActionError as exc:
        details = [m for messages in exc.fields.values() for m in messages]
        message = " ".join(details) if details else exc.message
        return _render(request, error_for=callback.pk, error=message, note=note, status=exc.status)
    return HttpResponseRedirect(reverse("callbacks", args=[member.tenant.slug]))


@workspace_view
@require_POST
def log_call(request: HttpRequest, callback_id: int) -> HttpResponse:
    """Log how a call went (reached, no answer, busy, wrong number), with a note."""
    return _act(request, callback_id, "log")


@workspace_view
@require_POST
def cancel(request: HttpRequest, callback_id: int) -> HttpResponse:
    return _act(request, callback_id, "cancel")
