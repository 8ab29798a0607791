"""The queue page: what the member may take, in the order to answer it (actions/queue.py), with
why each stands where it does, and the "Get next" button."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from ..actions.queue import do_get_next, ranked_queue
from ..errors import ActionError
from ..models import Membership
from .inbox import STATUS_FILTERS, STATUS_LINKS, VIEWS, view_counts
from .workspace import PAGE_SIZE, workspace_view


def _render(request: HttpRequest, *, error: str = "", notice: str = "", status: int = 200) -> HttpResponse:
    member: Membership = request.member  # type: ignore[attr-defined]
    now = timezone.now()
    counts = view_counts(member, now)
    ranked = ranked_queue(member.tenant, now=now, member=member)
    context: dict[str, Any] = {
        "nav": "inbox",
        "queue_page": True,
        "view_links": [(key, label, counts[key]) for key, label in VIEWS.items()],
        "status_links": [(s, STATUS_FILTERS[s]) for s in STATUS_LINKS],
        "rows": ranked[:PAGE_SIZE],
        "more": max(len(ranked) - PAGE_SIZE, 0),
        "now": now,
        "error": error,
        "notice": notice,
    }
    return render(request, "desk/inbox/queue.html", context, status=status)


@workspace_view
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    return _render(request)


@workspace_view
@require_POST
def get_next(request: HttpRequest) -> HttpResponse:
    """Take the first conversation of the queue and open it; or say why not."""
    member: Membership = request.member  # type: ignore[attr-defined]
    try:
        conversation = do_get_next(member)
    except ActionError as exc:
        return _render(request, error=exc.message, status=exc.status)
    if conversation is None:
        return _render(request, notice=_("The queue is empty: nothing waits that you can take."))
    return HttpResponseRedirect(reverse("conversation", args=[member.tenant.slug, conversation.number]))
