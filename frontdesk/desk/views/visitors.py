"""Live chat for agents: who is on the shop's site now (and starting a chat with them), what the
conversation page shows about a chat's visitor, and what notify.js needs to know about my chats.

Everything a visitor told us (page titles, addresses, names) is untrusted: templates auto-escape
it, and a page address becomes a link only when it is http(s).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.db.models import prefetch_related_objects
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from ..actions import chat
from ..errors import ActionError, NotFound
from ..models import Channel, ChatVisitor, Conversation, Customer, Membership, Status
from .workspace import is_htmx, last_event_id, workspace_view

CHAT_KIND = "chat"
# Browsers of one customer shown in a conversation's side panel (the most recently seen first).
PANEL_VISITORS = 3
# Conversations notify.js is told are mine at once (it learns the rest from events).
MY_CHATS_LIMIT = 200


def is_chat(conversation: Conversation) -> bool:
    return conversation.channel.kind == CHAT_KIND


def web_address(url: str) -> str:
    """`url` when it may be a link (http or https), else "" (javascript:, data:, garbage)."""
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return ""
    return url if scheme in ("http", "https") else ""


@dataclass
class Claim:
    """A contact detail of a visitor; `verified` when the shop vouched for it (identity
    verification), else only what the visitor typed."""

    label: str
    value: str
    verified: bool


@dataclass
class VisitorView:
    """A visitor as agents see them."""

    visitor: ChatVisitor
    online: bool
    page_title: str
    page_url: str
    # The page address as a link target: only http(s) addresses, else "".
    page_href: str
    on_site_since: dt.datetime
    returning: bool
    customer_name: str
    claims: list[Claim] = field(default_factory=list)
    # The "Start chat" form after a refused attempt: its error and the text to keep.
    error: str = ""
    text: str = ""

    @property
    def public_id(self) -> str:
        return self.visitor.public_id


def _claims(visitor: ChatVisitor, customer: Customer | None) -> list[Claim]:
    vouched = {i.address for i in customer.identities.all() if i.verified} if customer is not None else set()
    found = [
        # A name is vouched for only as part of a verified identity (the shop signed who it is).
        Claim(_("Name"), visitor.name, visitor.verified),
        Claim(_("Email"), visitor.email, visitor.email in vouched),
        Claim(_("Phone"), visitor.phone, visitor.phone in vouched),
    ]
    return [c for c in found if c.value]


def visitor_view(visitor: ChatVisitor, now: dt.datetime) -> VisitorView:
    """`visitor` with its customer (select_related) and the customer's identities (prefetched)."""
    customer = visitor.customer if visitor.customer_id else None
    return VisitorView(
        visitor=visitor,
        online=chat.visitor_online(visitor, now),
        page_title=visitor.page_title,
        page_url=visitor.page_url,
        page_href=web_address(visitor.page_url),
        on_site_since=visitor.visit_started_at,
        returning=visitor.visits > 1,
        customer_name=(customer.name if customer is not None else "") or visitor.name,
        claims=_claims(visitor, customer),
    )


def chat_context(conversation: Conversation) -> dict[str, Any]:
    """What the conversation page shows of a live chat: the hand-over notice of the composer and
    the visitor's browsers in the side panel. Empty for other channels."""
    if not is_chat(conversation):
        return {"is_chat": False}
    now = timezone.now()
    handover = chat.handover_route(conversation, conversation.effective_reply_channel)
    visitors = list(
        ChatVisitor.objects.filter(
            tenant_id=conversation.tenant_id,
            channel_id=conversation.channel_id,
            customer_id=conversation.customer_id,
        )
        .select_related("customer")
        .prefetch_related("customer__identities")
        .order_by("-last_seen_at")[:PANEL_VISITORS]
    )
    return {
        "is_chat": True,
        "handover_channel": handover[0] if handover else None,
        "handover_address": handover[1] if handover else "",
        "chat_visitors": [visitor_view(v, now) for v in visitors],
    }


def mark_read(member: Membership, conversation: Conversation) -> int:
    """The agent has the chat on screen: the visitor's messages are read (chats only)."""
    if not is_chat(conversation):
        return 0
    return chat.do_mark_read_by_agent(member, conversation)


# --- Visitors on the site ---------------------------------------------------------------------------


def _chat_channels(member: Membership) -> list[Channel]:
    return list(
        Channel.objects.filter(tenant_id=member.tenant_id, kind=CHAT_KIND, disabled=False).order_by("name")
    )


def _sites(member: Membership, errors: dict[str, str], texts: dict[str, str]) -> list[dict[str, Any]]:
    now = timezone.now()
    sites = []
    for channel in _chat_channels(member):
        online = chat.online_visitors(channel)
        prefetch_related_objects([v.customer for v in online if v.customer is not None], "identities")
        rows = [visitor_view(v, now) for v in online]
        for row in rows:
            row.error = errors.get(row.public_id, "")
            row.text = texts.get(row.public_id, "")
        sites.append({"channel": channel, "visitors": rows})
    return sites


def _render(
    request: HttpRequest,
    *,
    fragment: bool,
    errors: dict[str, str] | None = None,
    texts: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    member: Membership = request.member  # type: ignore[attr-defined]
    resume_after = last_event_id(member)
    errors = errors or {}
    sites = _sites(member, errors, texts or {})
    shown = {row.public_id for site in sites for row in site["visitors"]}
    context = {
        "nav": "visitors",
        "sites": sites,
        # An error for a visitor who is no longer listed is shown above the list.
        "error": " ".join(e for pid, e in errors.items() if pid not in shown),
        "last_event_id": resume_after,
    }
    template = "desk/visitors/_list.html" if fragment else "desk/visitors/visitors.html"
    return render(request, template, context, status=status)


@workspace_view
@require_GET
def visitors(request: HttpRequest) -> HttpResponse:
    """Visitors seen on the shop's sites in the last minute, per chat channel (the list refreshes
    itself every 10 s: workspace.js asks again with HX-Request for the list alone)."""
    return _render(request, fragment=is_htmx(request))


@workspace_view
@require_POST
def start_chat(request: HttpRequest, public_id: str) -> HttpResponse:
    """Write first to a visitor on the site; then continue in the conversation."""
    member: Membership = request.member  # type: ignore[attr-defined]
    visitor = (
        ChatVisitor.objects.select_related("channel", "customer")
        .filter(
            tenant_id=member.tenant_id,
            public_id=public_id,
            channel__kind=CHAT_KIND,
            channel__disabled=False,
        )
        .first()
    )
    if visitor is None:
        raise NotFound()
    text = request.POST.get("text", "")
    try:
        message = chat.do_start_chat(member, visitor, text)
    except NotFound:
        raise
    except ActionError as exc:
        details = [m for messages in exc.fields.values() for m in messages]
        error = " ".join(details) if details else exc.message
        # The whole page again, with the error and the text at the visitor's form.
        return _render(
            request, fragment=False, errors={public_id: error}, texts={public_id: text}, status=exc.status
        )
    url = reverse("conversation", args=[member.tenant.slug, message.conversation.number])
    return HttpResponseRedirect(url)


# --- For notify.js ----------------------------------------------------------------------------------


@workspace_view
@require_GET
def my_chats(request: HttpRequest) -> HttpResponse:
    """The chat channels of the shop and my chat conversations that are not closed: notify.js
    rings for new messages in those (and learns later assignments from events)."""
    member: Membership = request.member  # type: ignore[attr-defined]
    channels = [c.pk for c in _chat_channels(member)]
    mine = list(
        Conversation.objects.filter(
            tenant_id=member.tenant_id,
            assignee=member,
            channel_id__in=channels,
        )
        .exclude(status=Status.CLOSED)
        .order_by("-last_message_at")
        .values_list("number", flat=True)[:MY_CHATS_LIMIT]
    )
    response = JsonResponse({"member": member.pk, "channels": channels, "mine": mine})
    response["Cache-Control"] = "private, no-store"
    return response
