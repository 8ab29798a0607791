"""The customer's status page (/s/<token>/): no login, the signed link is the key.

One page in the customer's language: the conversation's reference, status, who handles it and by
when, its public messages, a form to write more and a form to choose how the answer comes. Both
forms post to the page and redirect back (post/redirect/get), so a reload never sends twice.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from django.conf import settings
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from frontdesk.channels import ratelimit
from frontdesk.channels.base import InboundAttachment

from ..actions.acknowledge import customer_zone, language_of, when_words, who_words
from ..actions.attachments import safe_filename
from ..actions.status import (
    REPLY_LABELS,
    call_presets,
    conversation_for_token,
    do_choose_reply,
    do_status_message,
    reply_options,
    status_token,
    status_words,
)
from ..errors import Invalid, NotFound
from ..models import (
    DONE_STATUSES,
    AuthorKind,
    Callback,
    CallbackState,
    Conversation,
    Direction,
    IdentityKind,
    Message,
)

log = structlog.get_logger(__name__)

# Posts per link: a person writes a handful an hour, a script hundreds (10 per 10 minutes).
RATE_LIMIT = "FRONTDESK_RATE_STATUS_PER_LINK"
MESSAGES_SHOWN = 200


@require_http_methods(["GET", "POST"])
def status_page(request: HttpRequest, token: str) -> HttpResponse:
    try:
        conversation = conversation_for_token(token)
    except NotFound:
        raise Http404 from None
    language = language_of(conversation)
    with translation.override(language):
        if request.method == "POST":
            response = _post(request, conversation, language)
        else:
            response = _show(request, conversation, language)
    # The link is a key: never cached by proxies, never sent to other sites as a referrer, never
    # indexed. "same-origin", not "no-referrer": with no-referrer browsers send `Origin: null` on
    # the page's own form posts, which Django's CSRF check rightly refuses (the browser test caught
    # it; the test client sends no Origin).
    patch_cache_control(response, private=True, no_store=True)
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex"
    return response


def _page_path(conversation: Conversation) -> str:
    return reverse("status-page", kwargs={"token": status_token(conversation)})


def _post(request: HttpRequest, conversation: Conversation, language: str) -> HttpResponse:
    action = request.POST.get("action", "")
    over = ratelimit.check([(RATE_LIMIT, f"status:{conversation.pk}")])
    if over is not None:
        log.info("status.rate_limited", tenant=conversation.tenant_id, conversation=conversation.number)
        minutes = max(1, round(over.retry_after / 60))
        problem = ngettext(
            "Too many messages were sent. Please try again in %(n)d minute.",
            "Too many messages were sent. Please try again in %(n)d minutes.",
            minutes,
        ) % {"n": minutes}
        response = _show(request, conversation, language, problem=problem, status=429)
        response["Retry-After"] = str(over.retry_after)
        return response
    if action == "message":
        return _post_message(request, conversation, language)
    if action == "reply":
        return _post_reply(request, conversation, language)
    return _show(
        request, conversation, language, problem=_("Please reload the page and try again."), status=400
    )


def _post_message(request: HttpRequest, conversation: Conversation, language: str) -> HttpResponse:
    text = request.POST.get("text", "")
    client_id = request.POST.get("client_id", "")
    try:
        files = _uploads(request)
        result = do_status_message(conversation, text, files, client_id=client_id)
    except Invalid as exc:
        return _show(
            request,
            conversation,
            language,
            message_form={"text": text, "client_id": client_id, "errors": exc.fields, "problem": exc.message},
            status=422,
        )
    log.info(
        "status.message",
        tenant=conversation.tenant_id,
        conversation=result.conversation.number,
        duplicate=not result.created,
    )
    # A closed conversation the shop does not reopen continues in a new one: show that one.
    return HttpResponseRedirect(_page_path(result.conversation) + "?sent=1#messages")


def _uploads(request: HttpRequest) -> list[InboundAttachment]:
    """The attached files, limits checked before any is read into memory."""
    uploads = request.FILES.getlist("files")
    limit = settings.FRONTDESK_MAX_ATTACHMENT_BYTES
    if len(uploads) > settings.FRONTDESK_MAX_ATTACHMENTS:
        raise Invalid(
            _("At most %(n)d attachments per message.") % {"n": settings.FRONTDESK_MAX_ATTACHMENTS},
            fields={"files": [_("Too many attachments.")]},
        )
    for upload in uploads:
        if (upload.size or 0) > limit:
            raise Invalid(
                _("%(name)s is larger than the limit of %(mb).1f MB.")
                % {"name": safe_filename(upload.name or ""), "mb": limit / 1024 / 1024},
                fields={"files": [_("File too large.")]},
            )
    return [
        InboundAttachment(
            filename=upload.name or "attachment",
            content_type=upload.content_type or "",
            data=upload.read(),
        )
        for upload in uploads
    ]


def _post_reply(request: HttpRequest, conversation: Conversation, language: str) -> HttpResponse:
    data = {
        name: request.POST.get(name, "")
        for name in ("reply_via", "email", "phone", "call_preset", "call_date", "call_from", "call_until")
    }
    try:
        choice = do_choose_reply(conversation, data)
    except Invalid as exc:
        return _show(
            request,
            conversation,
            language,
            reply_form={"values": data, "errors": exc.fields, "problem": exc.message},
            status=422,
        )
    log.info(
        "status.reply_chosen",
        tenant=conversation.tenant_id,
        conversation=conversation.number,
        via=choice.kind,
    )
    return HttpResponseRedirect(_page_path(conversation) + "?chosen=1#reply")


def _show(
    request: HttpRequest,
    conversation: Conversation,
    language: str,
    *,
    problem: str = "",
    message_form: dict[str, Any] | None = None,
    reply_form: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    now = timezone.now()
    zone = customer_zone(conversation)
    customer = conversation.customer
    promise = None
    if conversation.promised_by is not None and conversation.status not in DONE_STATUSES:
        promise = {
            "words": when_words(conversation.promised_by, now, zone, language),
            "at": conversation.promised_by.astimezone(zone),
        }
    options = reply_options(conversation)
    message_form = message_form or {"text": "", "errors": {}, "problem": ""}
    if not message_form.get("client_id"):
        message_form["client_id"] = secrets.token_urlsafe(16)
    email = customer.identity(IdentityKind.EMAIL)
    phone = customer.identity(IdentityKind.PHONE)
    reply_form = reply_form or {"values": {"reply_via": _current_choice(conversation, options)}, "errors": {}}
    values = reply_form["values"]
    # The addresses we know, unless the customer typed others.
    if not values.get("email") and email is not None:
        values["email"] = email.address
    if not values.get("phone") and phone is not None:
        values["phone"] = phone.address
    context = {
        "language": language,
        "shop": conversation.tenant,
        "conversation": conversation,
        "status_words": status_words(conversation),
        "done": conversation.status in DONE_STATUSES,
        "who": who_words(conversation, language),
        "promise": promise,
        "zone": str(zone),
        "messages": _public_messages(conversation, zone, language),
        "options": [(kind, str(REPLY_LABELS[kind])) for kind in options],
        "offers": dict.fromkeys(options, True),
        "presets": call_presets(conversation, now),
        "today": now.astimezone(zone).date().isoformat(),
        "callbacks": _callbacks(conversation, zone),
        "problem": problem,
        "message_form": message_form,
        "reply_form": reply_form,
        "sent": request.method == "GET" and request.GET.get("sent") == "1",
        "chosen": request.method == "GET" and request.GET.get("chosen") == "1",
        "max_files": settings.FRONTDESK_MAX_ATTACHMENTS,
        "max_mb": settings.FRONTDESK_MAX_ATTACHMENT_BYTES // (1024 * 1024),
    }
    # Template date filters show times on the active clock: the customer's.
    with timezone.override(zone):
        return render(request, "status/page.html", context, status=status)


def _current_choice(conversation: Conversation, options: dict[str, Any]) -> str:
    chosen = conversation.reply_channel_id
    return next(
        (kind for kind, channel in options.items() if channel is not None and channel.pk == chosen), ""
    )


def _public_messages(conversation: Conversation, zone: ZoneInfo, language: str) -> list[dict[str, Any]]:
    """What the customer and the shop said to each other: never internal notes, and of inbound
    messages only the customer's own (not bounce reports about the shop's mail)."""
    rows = list(
        Message.objects.filter(conversation=conversation)
        .filter(Q(direction=Direction.OUT) | Q(direction=Direction.IN, author_kind=AuthorKind.CUSTOMER))
        .select_related("author__user")
        .prefetch_related("attachments")
        .order_by("-created_at", "-id")[:MESSAGES_SHOWN]
    )
    rows.reverse()
    shown = []
    for message in rows:
        if message.direction == Direction.IN:
            who, mine = _("You"), True
        elif message.author_kind == AuthorKind.AGENT and message.author is not None:
            who, mine = message.author.display_name, False
        else:
            who, mine = conversation.tenant.name, False
        shown.append(
            {
                "who": who,
                "mine": mine,
                "at": message.created_at.astimezone(zone),
                "text": message.text,
                "files": [a.filename for a in message.attachments.all()],
            }
        )
    return shown


def _callbacks(conversation: Conversation, zone: ZoneInfo) -> list[dict[str, dt.datetime]]:
    return [
        {"start": c.window_start.astimezone(zone), "end": c.window_end.astimezone(zone)}
        for c in Callback.objects.filter(
            conversation=conversation, state__in=[CallbackState.SCHEDULED, CallbackState.DUE]
        ).order_by("window_start")[:5]
    ]
