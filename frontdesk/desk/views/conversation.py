"""The conversation page: the whole thread, the composer and the side panel.

Every change is a POST to its own URL that calls one action. With htmx the answer carries the
changed regions (header, timeline, side panel, a fresh composer) as <hx-partial>s; without
JavaScript it redirects back to the page. An ActionError is shown at the form that caused it,
with its 4xx status — as a fragment for htmx, in the re-rendered page otherwise.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import prefetch_related_objects
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST

from frontdesk.channels.base import InboundAttachment

from ..access import (
    access_channel,
    access_conversation,
    access_member,
    access_message,
    access_tag,
    access_team,
)
from ..actions.conversations import (
    _handles,
    do_add_note,
    do_assign,
    do_merge,
    do_reply,
    do_set_priority,
    do_set_reply_channel,
    do_set_status,
    do_set_tags,
    do_snooze,
    other_conversations,
    reply_channels,
)
from ..actions.outbox import do_retry_delivery
from ..errors import ActionError, Conflict, Invalid, NotFound
from ..models import (
    DONE_STATUSES,
    Channel,
    Conversation,
    DeliveryState,
    Direction,
    Event,
    Membership,
    Message,
    Priority,
    Status,
    Tag,
    Team,
)
from .visitors import chat_context, mark_read
from .workspace import is_htmx, last_event_id, tenant_zone, viewer_zone, when_words, workspace_view

# The page opens on the newest TIMELINE_FIRST messages (and the events since the oldest of them):
# rendering a message costs about a millisecond, and a long thread would make every open and every
# live refresh slow (docs/performance.md). "Show all" (`?all=1`) shows up to TIMELINE_LIMIT; older
# ones are summarised in one line.
TIMELINE_FIRST = 50
TIMELINE_LIMIT = 500
# Events that appear in the thread (message.created is the message itself; mentions show in notes).
TIMELINE_EVENTS = (
    "conversation.created",
    "conversation.assigned",
    "conversation.status_changed",
    "conversation.priority_changed",
    "conversation.tags_changed",
    "conversation.snoozed",
    "conversation.unsnoozed",
    "conversation.merged",
    "conversation.reply_channel_changed",
    "message.delivery_changed",
)
_FORM_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}$")
_REMOTE_IMAGE = re.compile(r"<img\b[^>]*\bsrc=\"https?:", re.IGNORECASE)
_CID_SRC = re.compile(r"src=\"cid:([^\"]+)\"", re.IGNORECASE)
# Inline (cid:) images up to this size are embedded in the frame as data: URLs.
INLINE_IMAGE_BYTES = 2 * 1024 * 1024


# --- The timeline -------------------------------------------------------------------------------------


@dataclass
class TimelineItem:
    kind: str  # "day", "message" or "event"
    at: dt.datetime
    message: Message | None = None
    event: Event | None = None
    text: SafeString | str = ""
    tone: str = ""  # "warn" for failures


def _label(choices: Any, value: Any) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value or "")


def _actor(event: Event) -> str:
    return event.actor.display_name if event.actor else _("Frontdesk")


def describe_event(event: Event, conversation: Conversation, slug: str) -> tuple[SafeString | str, str]:
    """What an event says in the thread, and its tone."""
    data = event.data or {}
    actor = _actor(event)
    kind = event.kind
    if kind == "conversation.created":
        channel = conversation.channel.name if data.get("channel") == conversation.channel_id else ""
        text = (
            format_html(_("Conversation started in {channel}"), channel=channel)
            if channel
            else _("Conversation started")
        )
        if data.get("previous"):
            url = reverse("conversation", args=[slug, data["previous"]])
            text = format_html(
                _("{text} — it follows up #{number}"),
                text=text,
                number=format_html('<a href="{}">{}</a>', url, data["previous"]),
            )
        return text, ""
    if kind == "conversation.assigned":
        before = data.get("from") or {}
        parts: list[SafeString] = []
        if before.get("assignee") != data.get("assignee"):
            if data.get("assignee") is None:
                parts.append(format_html(_("{actor} unassigned the conversation"), actor=actor))
            elif event.actor_id is not None and data.get("assignee") == event.actor_id:
                parts.append(format_html(_("{actor} took the conversation"), actor=actor))
            else:
                parts.append(
                    format_html(
                        _("{actor} assigned the conversation to {name}"),
                        actor=actor,
                        name=data.get("assignee_name") or "?",
                    )
                )
        if before.get("team") != data.get("team"):
            if data.get("team") is None:
                parts.append(format_html(_("{actor} removed the team"), actor=actor))
            else:
                parts.append(
                    format_html(
                        _("{actor} moved the conversation to team {team}"),
                        actor=actor,
                        team=data.get("team_name") or "?",
                    )
                )
        return mark_safe(" · ".join(parts)) if parts else format_html(_("{actor} assigned"), actor=actor), ""
    if kind == "conversation.status_changed":
        to = _label(Status, data.get("to"))
        reason = data.get("reason")
        if reason == "customer_replied":
            return format_html(_("The customer wrote again: status {status}"), status=to), ""
        if reason == "replied":
            return format_html(_("Status {status} after {actor}'s reply"), status=to, actor=actor), ""
        return format_html(_("{actor} changed the status to {status}"), actor=actor, status=to), ""
    if kind == "conversation.priority_changed":
        return (
            format_html(
                _("{actor} changed the priority from {old} to {new}"),
                actor=actor,
                old=_label(Priority, data.get("from")),
                new=_label(Priority, data.get("to")),
            ),
            "",
        )
    if kind == "conversation.tags_changed":
        parts = []
        if data.get("added"):
            added = data["added"]
            parts.append(
                format_html(
                    ngettext("{actor} added the tag {tags}", "{actor} added the tags {tags}", len(added)),
                    actor=actor,
                    tags=", ".join(added),
                )
            )
        if data.get("removed"):
            removed = data["removed"]
            parts.append(
                format_html(
                    ngettext(
                        "{actor} removed the tag {tags}", "{actor} removed the tags {tags}", len(removed)
                    ),
                    actor=actor,
                    tags=", ".join(removed),
                )
            )
        return mark_safe(" · ".join(parts)), ""
    if kind == "conversation.snoozed":
        until = _parse_time(data.get("until"))
        when = when_words(until) if until else "?"
        return format_html(_("{actor} snoozed the conversation until {when}"), actor=actor, when=when), ""
    if kind == "conversation.unsnoozed":
        if data.get("reason") == "snooze_ended":
            return _("The snooze ended: the conversation is back in the queue"), ""
        return format_html(_("{actor} woke the conversation"), actor=actor), ""
    if kind == "conversation.merged":
        source, target = data.get("source"), data.get("target")
        if source == conversation.number:
            link = format_html('<a href="{}">#{}</a>', reverse("conversation", args=[slug, target]), target)
            return format_html(_("{actor} merged this conversation into {link}"), actor=actor, link=link), ""
        link = format_html('<a href="{}">#{}</a>', reverse("conversation", args=[slug, source]), source)
        return format_html(_("{actor} merged {link} into this conversation"), actor=actor, link=link), ""
    if kind == "conversation.reply_channel_changed":
        if data.get("channel_name"):
            return (
                format_html(
                    _("{actor} set replies to go through {channel}"),
                    actor=actor,
                    channel=data["channel_name"],
                ),
                "",
            )
        return format_html(_("{actor} set replies to go where the customer last wrote"), actor=actor), ""
    if kind == "message.delivery_changed":
        return (
            format_html(
                _("A reply could not be delivered: {error}"), error=data.get("error") or _("unknown")
            ),
            "warn",
        )
    return kind, ""


def _parse_time(value: Any) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


def _day_label(day: dt.date, today: dt.date) -> str:
    if day == today:
        return _("Today")
    if day == today - dt.timedelta(days=1):
        return _("Yesterday")
    if day.year == today.year:
        return formats.date_format(day, "l, j F")
    return formats.date_format(day, "j F Y")


def _frame_height(message: Message) -> int:
    """A first guess of the formatted message's height (the frame cannot measure itself)."""
    html = message.html
    blocks = len(re.findall(r"<(?:p|br|div|tr|li|h\d|blockquote)\b", html, re.IGNORECASE))
    images = len(re.findall(r"<img\b", html, re.IGNORECASE))
    visible = len(re.sub(r"<[^>]+>", "", html))
    lines = max(blocks + visible // 90, len(message.text) // 90 + message.text.count("\n"))
    return max(140, min(600, 48 + lines * 26 + images * 120))


def _order(item: TimelineItem) -> tuple[dt.datetime, int, int]:
    if item.message is not None:
        return (item.at, 0, item.message.pk)
    assert item.event is not None
    # "Conversation started" opens the thread, before the message that started it.
    return (item.at, -1 if item.event.kind == "conversation.created" else 1, item.event.pk)


def timeline(conversation: Conversation, *, limit: int = TIMELINE_LIMIT) -> tuple[list[TimelineItem], bool]:
    """Messages and events of the conversation interleaved by time, with day separators: the
    newest `limit` messages and the events since the oldest of them.

    Returns the items and whether older ones were left out."""
    messages = list(
        Message.objects.filter(conversation=conversation)
        .select_related("author__user", "channel", "customer")
        .prefetch_related("attachments", "mentions__user")
        .order_by("-created_at", "-id")[: limit + 1]
    )
    events_qs = Event.objects.filter(conversation=conversation, kind__in=TIMELINE_EVENTS)
    if len(messages) > limit:
        events_qs = events_qs.filter(created_at__gte=messages[limit - 1].created_at)
    events = list(events_qs.select_related("actor__user").order_by("-id")[: limit + 1])
    truncated = len(messages) > limit or len(events) > limit
    messages, events = messages[:limit], events[:limit]
    slug = conversation.tenant.slug
    items: list[TimelineItem] = []
    for m in messages:
        if m.html:
            m.frame_height = _frame_height(m)  # type: ignore[attr-defined]
            m.has_remote_images = bool(_REMOTE_IMAGE.search(m.html))  # type: ignore[attr-defined]
        items.append(TimelineItem("message", m.created_at, message=m))
    for e in events:
        if e.kind == "message.delivery_changed" and (e.data or {}).get("state") != DeliveryState.FAILED:
            continue
        text, tone = describe_event(e, conversation, slug)
        at = min(e.created_at, conversation.created_at) if e.kind == "conversation.created" else e.created_at
        items.append(TimelineItem("event", at, event=e, text=text, tone=tone))
    # A message and the events it caused share a moment: the message comes first.
    items.sort(key=_order)
    today = timezone.localdate()
    result: list[TimelineItem] = []
    day: dt.date | None = None
    for item in items:
        local_day = timezone.localtime(item.at).date()
        if local_day != day:
            day = local_day
            result.append(TimelineItem("day", item.at, text=_day_label(local_day, today)))
        result.append(item)
    return result, truncated


# --- Snooze presets -----------------------------------------------------------------------------------


def snooze_presets(member: Membership, now: dt.datetime | None = None) -> list[tuple[str, str, dt.datetime]]:
    """(key, label, until): in an hour; tomorrow 9:00 and next Monday 9:00 in the shop's time zone."""
    now = now or timezone.now()
    zone = tenant_zone(member)
    local = now.astimezone(zone)
    nine = dt.time(9, 0)
    tomorrow = dt.datetime.combine(local.date() + dt.timedelta(days=1), nine, tzinfo=zone)
    days_to_monday = (7 - local.weekday()) % 7 or 7
    monday = dt.datetime.combine(local.date() + dt.timedelta(days=days_to_monday), nine, tzinfo=zone)
    return [
        ("1h", _("In 1 hour"), now + dt.timedelta(hours=1)),
        ("tomorrow", _("Tomorrow"), tomorrow),
        ("monday", _("Next Monday"), monday),
    ]


def _snooze_until(request: HttpRequest, member: Membership) -> dt.datetime | None:
    preset = request.POST.get("preset", "")
    if preset == "wake":
        return None
    for key, _text, until in snooze_presets(member):
        if key == preset:
            return until
    if preset == "custom":
        raw = request.POST.get("until", "").strip()
        try:
            naive = dt.datetime.fromisoformat(raw)
        except ValueError:
            raise Invalid(
                _("Choose a date and time to snooze until."), fields={"until": [_("Enter a date and time.")]}
            ) from None
        if naive.tzinfo is None:
            naive = naive.replace(tzinfo=viewer_zone(member))
        return naive
    raise Invalid(
        _("Choose when the conversation should come back."), fields={"preset": [_("Unknown choice.")]}
    )


# --- Page context -------------------------------------------------------------------------------------


def mention_members(member: Membership) -> list[dict[str, str]]:
    """Who can be @mentioned, by the handle the note parser understands (email local part)."""
    seen: dict[int, dict[str, str]] = {}
    for handle, m in _handles(member).items():
        if m.pk not in seen and handle == m.user.email.split("@")[0].lower():
            seen[m.pk] = {"handle": handle, "name": m.display_name}
    return sorted(seen.values(), key=lambda d: d["name"].lower())


def page_context(
    request: HttpRequest,
    conversation: Conversation,
    *,
    errors: dict[str, str] | None = None,
    composer: dict[str, Any] | None = None,
) -> dict[str, Any]:
    member: Membership = request.member  # type: ignore[attr-defined]
    customer = conversation.customer
    prefetch_related_objects([customer], "identities")
    prefetch_related_objects([conversation], "tags")
    show_all = request.GET.get("all") == "1"
    items, truncated = timeline(conversation, limit=TIMELINE_LIMIT if show_all else TIMELINE_FIRST)
    for item in items:
        if item.message is not None and errors:
            item.message.retry_error = errors.get(f"retry_{item.message.pk}", "")  # type: ignore[attr-defined]
    channels = reply_channels(conversation)
    chosen = (composer or {}).get("channel") or conversation.effective_reply_channel.pk
    default_channel = next((c for c in channels if c.pk == chosen), channels[0] if channels else None)
    recipients = {c.pk: (customer.identity(c.adapter.capabilities.recipient_kind) or None) for c in channels}
    statuses = [
        (v, label) for v, label in Status.choices if v != Status.NEW or conversation.status == Status.NEW
    ]
    merged_into = None
    if conversation.merged_into_id:
        merged_into = Conversation.objects.filter(pk=conversation.merged_into_id).only("number").first()
    others = list(other_conversations(conversation).select_related("channel")[:20])
    return {
        "nav": "inbox",
        "conversation": conversation,
        "customer": customer,
        "identities": list(customer.identities.all()),
        "items": items,
        "truncated": truncated,
        "timeline_all": show_all,
        "message_count": conversation.messages.count() if truncated else None,
        "reply_channels": [(c, recipients[c.pk]) for c in channels],
        "default_channel": default_channel,
        "default_recipient": recipients.get(default_channel.pk) if default_channel else None,
        "members": list(
            Membership.objects.filter(tenant_id=member.tenant_id, is_active=True)
            .select_related("user")
            .order_by("user__name", "user__email")
        ),
        "teams": list(Team.objects.filter(tenant_id=member.tenant_id).order_by("name")),
        "tags": list(Tag.objects.filter(tenant_id=member.tenant_id).order_by("name")),
        "tag_ids": {t.pk for t in conversation.tags.all()},
        "statuses": statuses,
        "priorities": Priority.choices,
        "is_done": conversation.status in DONE_STATUSES,
        "snooze_presets": snooze_presets(member),
        "others": others,
        "merge_targets": [o for o in others if o.merged_into_id is None],
        "merged_into": merged_into,
        "mention_members": mention_members(member),
        "errors": errors or {},
        "composer": composer or {},
        "max_attachments": settings.FRONTDESK_MAX_ATTACHMENTS,
        "max_attachment_mb": settings.FRONTDESK_MAX_ATTACHMENT_BYTES // (1024 * 1024),
        "customer_channel": customer.preferred_reply_channel,
        **chat_context(conversation),
    }


@workspace_view
@require_GET
def conversation(request: HttpRequest, number: int) -> HttpResponse:
    member: Membership = request.member  # type: ignore[attr-defined]
    resume_after = last_event_id(member)
    conv = access_conversation(member, number)
    # A chat on screen is read: the visitor sees it. (The page hears its own "message.read" when
    # it connects; workspace.js does nothing for an agent's reading.)
    mark_read(member, conv)
    context = page_context(request, conv)
    context["last_event_id"] = resume_after
    return render(request, "desk/conversation/conversation.html", context)


def _seen(request: HttpRequest, conversation: Conversation) -> None:
    """A live refresh of a page that is open and visible (`visible=1`, sent by workspace.js) shows
    the new messages of a chat to the agent: they are read."""
    if request.GET.get("visible") == "1":
        mark_read(request.member, conversation)  # type: ignore[attr-defined]


@workspace_view
@require_GET
def regions(request: HttpRequest, number: int) -> HttpResponse:
    """Header, timeline, side panel (and a chat's hand-over notice) as fragments (by id), for live
    refresh."""
    conv = access_conversation(request.member, number)  # type: ignore[attr-defined]
    _seen(request, conv)
    return render(request, "desk/conversation/_regions.html", page_context(request, conv))


@workspace_view
@require_GET
def timeline_fragment(request: HttpRequest, number: int) -> HttpResponse:
    conv = access_conversation(request.member, number)  # type: ignore[attr-defined]
    _seen(request, conv)
    show_all = request.GET.get("all") == "1"
    items, truncated = timeline(conv, limit=TIMELINE_LIMIT if show_all else TIMELINE_FIRST)
    return render(
        request,
        "desk/conversation/_timeline.html",
        {
            "conversation": conv,
            "customer": conv.customer,
            "items": items,
            "truncated": truncated,
            "timeline_all": show_all,
            "message_count": conv.messages.count() if truncated else None,
        },
    )


# --- The sanitised HTML of a message, in its own sandboxed document ----------------------------------

# A sandbox without scripts, same-origin or forms; links may open in a new tab (allow-popups).
FRAME_CSP = (
    "sandbox allow-popups allow-popups-to-escape-sandbox; "
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
)


def _inline_images(message: Message, html: str) -> str:
    """Replace cid: references by data: URLs of the message's inline images (the frame loads nothing)."""
    images = {
        a.content_id.strip("<>"): a
        for a in message.attachments.all()
        if a.content_id and a.content_type.startswith("image/") and a.size <= INLINE_IMAGE_BYTES
    }
    if not images:
        return html

    def replace(match: re.Match[str]) -> str:
        attachment = images.get(match.group(1).strip("<>"))
        if attachment is None:
            return match.group(0)
        try:
            with attachment.file.open("rb") as f:
                data = base64.b64encode(f.read()).decode()
        except OSError:
            return match.group(0)
        # content_type is ours (normalised at storage) and the data base64: nothing to escape.
        return f'src="data:{attachment.content_type};base64,{data}"'

    return _CID_SRC.sub(replace, html)


@xframe_options_sameorigin
@workspace_view
@require_GET
def message_html(request: HttpRequest, number: int, message_id: int) -> HttpResponse:
    """The customer's HTML, sanitised at receipt, served as its own document for a sandboxed frame:
    no script can run, nothing loads unless the agent asks for remote images (`images=1`)."""
    member: Membership = request.member  # type: ignore[attr-defined]
    conv = access_conversation(member, number)
    message = access_message(member, message_id)
    if message.conversation_id != conv.pk or not message.html:
        raise NotFound()
    html = _inline_images(message, message.html)
    body = render_to_string("desk/conversation/message_frame.html", {"html": mark_safe(html)})
    response = HttpResponse(body, content_type="text/html; charset=utf-8")
    # Both schemes: the "show remote images" link is offered for http: images too (_REMOTE_IMAGE).
    csp = FRAME_CSP + (" http: https:" if request.GET.get("images") == "1" else "")
    response["Content-Security-Policy"] = f"{csp}; frame-ancestors 'self'"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


# --- Actions --------------------------------------------------------------------------------------------


def error_text(exc: ActionError) -> str:
    """The message of an error with the field details people need to fix it."""
    details = [msg for messages in exc.fields.values() for msg in messages]
    if details and exc.message == str(type(exc).default_message):
        return " ".join(details)
    return exc.message


def _form_name(request: HttpRequest, default: str) -> str:
    name = request.POST.get("form_id", "")
    return name if _FORM_NAME.match(name) else default


def _failed(request: HttpRequest, conversation: Conversation, form: str, exc: ActionError) -> HttpResponse:
    message = error_text(exc)
    if is_htmx(request):
        response = render(request, "desk/conversation/_error.html", {"form": form, "message": message})
        response.status_code = exc.status
        return response
    composer = {}
    if form in ("reply", "note"):
        composer = {
            "mode": form,
            "text": request.POST.get("text", ""),
            "channel": _int(request.POST.get("channel")),
        }
    conversation = access_conversation(request.member, conversation.number)  # type: ignore[attr-defined]
    response = render(
        request,
        "desk/conversation/conversation.html",
        page_context(request, conversation, errors={form: message}, composer=composer),
    )
    response.status_code = exc.status
    return response


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _act(
    request: HttpRequest,
    conversation: Conversation,
    form: str,
    run: Callable[[], Any],
    *,
    reset_composer: bool = False,
) -> HttpResponse:
    """Run an action; answer with the changed regions (htmx) or a redirect back (plain forms)."""
    form = _form_name(request, form)
    try:
        result = run()
    except NotFound:
        raise
    except ActionError as exc:
        return _failed(request, conversation, form, exc)
    member: Membership = request.member  # type: ignore[attr-defined]
    target = result if isinstance(result, Conversation) and result.pk != conversation.pk else conversation
    url = reverse("conversation", args=[member.tenant.slug, target.number])
    if target is not conversation:
        if is_htmx(request):
            response = HttpResponse(status=200)
            response["HX-Redirect"] = url
            return response
        return HttpResponseRedirect(url)
    if not is_htmx(request):
        return HttpResponseRedirect(url + ("#composer" if reset_composer else ""))
    fresh = access_conversation(member, conversation.number)
    # A fresh composer stays on the tab the agent used (reply or note).
    context = page_context(request, fresh, composer={"mode": form} if reset_composer else None)
    context["reset_composer"] = reset_composer
    return render(request, "desk/conversation/_partials.html", context)


def _uploads(request: HttpRequest) -> list[InboundAttachment]:
    """Uploaded files, refused before they are read when there are too many or one is too big."""
    files = request.FILES.getlist("attachments")
    if len(files) > settings.FRONTDESK_MAX_ATTACHMENTS:
        raise Invalid(
            _("At most %(n)d attachments per message.") % {"n": settings.FRONTDESK_MAX_ATTACHMENTS},
            fields={"attachments": [_("Too many attachments.")]},
        )
    limit = settings.FRONTDESK_MAX_ATTACHMENT_BYTES
    for f in files:
        if (f.size or 0) > limit:
            raise Invalid(
                _("%(name)s is larger than the limit of %(mb).1f MB.")
                % {"name": f.name, "mb": limit / 1024 / 1024},
                fields={"attachments": [_("File too large.")]},
            )
    return [
        InboundAttachment(filename=f.name or "attachment", content_type=f.content_type or "", data=f.read())
        for f in files
    ]


def _channel(member: Membership, value: str | None) -> Channel | None:
    if not value:
        return None
    try:
        return access_channel(member, value)
    except NotFound:
        raise Invalid(_("Unknown channel."), fields={"channel": [_("Unknown channel.")]}) from None


@workspace_view
@require_POST
def reply(request: HttpRequest, number: int) -> HttpResponse:
    member: Membership = request.member  # type: ignore[attr-defined]
    conv = access_conversation(member, number)

    def run() -> Any:
        status = request.POST.get("status") or None
        return do_reply(
            member,
            conv,
            request.POST.get("text", ""),
            channel=_channel(member, request.POST.get("channel")),
            files=_uploads(request),
            status=status,
        )

    return _act(request, conv, "reply", run, reset_composer=True)


@workspace_view
@require_POST
def note(request: HttpRequest, number: int) -> HttpResponse:
    member: Membership = request.member  # type: ignore[attr-defined]
    conv = access_conversation(member, number)
    return _act(
        request,
        conv,
        "note",
        lambda: do_add_note(member, conv, request.POST.get("text", ""), files=_uploads(request)),
        reset_composer=True,
    )


@workspace_view
@require_POST
def assign(request: HttpRequest, number: int) -> HttpResponse:
    """`assignee` (a member id, "me", or empty for nobody) and/or `team` (an id or empty)."""
    member: Membership = request.member  # type: ignore[attr-defined]
    conv = access_conversation(member, number)

    def run() -> Any:
        changes: dict[str, Any] = {}
        if "assignee" in request.POST:
            value = request.POST["assignee"]
            if value == "me":
                changes["assignee"] = member
            elif value:
                try:
                    changes["assignee"] = access_member(member, value)
                except NotFound:
                    raise Invalid(_("Unknown member."), fields={"assignee": [_("Unknown member.")]}) from None
            else:
                changes["assignee"] = None
        if "team" in request.POST:
            value = request.POST["team"]
            if value:
                try:
                    changes["team"] = access_team(member, value)
                except NotFound:
                    raise Invalid(_("Unknown team."), fields={"team": [_("Unknown team.")]}) from None
            else:
                changes["team"] = None
        if not changes:
            raise Invalid(
                _("Choose a member or a team."), fields={"assignee": [_("This field is required.")]}
            )
        return do_assign(member, conv, **changes)

    return _act(request, conv, "assign", run)


@workspace_view
@require_POST
def set_status(request: HttpRequest, number: int) -> HttpResponse:
    member: Membership = request.member  # type: ignore[attr-defined]
    conv = access_conversation(member, number)
    return _act(request, conv, "status", lambda: do_set_status(member, conv, request.POST.get("status", "")))


@workspace_view
@require_POST
def set_priority(request: HttpRequest, number: int) -> HttpResponse:
    member: Membership = request.member  # type: ignore[attr-defined]
    conv = access_conversation(member, number)
    return _act(
        request, conv, "priority", lambda: do_set_priority(member, conv, request.POST.get("priority", ""))
    )


@workspace_view
@require_POST
def set_tags(request: HttpRequest, number: int) -> HttpResponse:
    """Make the conversation's tags exactly the `tags` posted (none posted: no tags)."""
    member: Membership = request.member  # type: ignore[attr-defined]
    conv = access_conversation(member, number)

    def run() -> Any:
        tags = []
        for value in request.POST.getlist("tags"):
            try:
                tags.append(access_tag(member, value))
            except NotFound:
                raise Invalid(_("Unknown tag."), fields={"tags": [_("Unknown tag.")]}) from None
        return do_set_tags(member, conv, tags)

    return _act(request, conv, "tags", run)


@workspace_view
@require_POST
def snooze(request: HttpRequest, number: int) -> HttpResponse:
    """`preset`: 1h, tomorrow, monday, custom (with `until`, in the viewer's time zone) or wake."""
    member: Membership = request.member  # type: ignore[attr-defined]
    conv = access_conversation(member, number)
    return _act(request, conv, "snooze", lambda: do_snooze(member, conv, _snooze_until(request, member)))


@workspace_view
@require_POST
def merge(request: HttpRequest, number: int) -> HttpResponse:
    """Merge this conversation into `target` (a conversation number of the same customer)."""
    member: Membership = request.member  # type: ignore[attr-defined]
    conv = access_conversation(member, number)

    def run() -> Any:
        value = request.POST.get("target", "").strip().lstrip("#")
        try:
            target = access_conversation(member, value)
        except NotFound:
            raise Invalid(
                _("There is no conversation #%(number)s.") % {"number": value[:12]},
                fields={"target": [_("Unknown conversation.")]},
            ) from None
        return do_merge(member, conv, target)

    return _act(request, conv, "merge", run)


@workspace_view
@require_POST
def set_reply_channel(request: HttpRequest, number: int) -> HttpResponse:
    """Where replies go: a channel id, or empty for where the customer last wrote."""
    member: Membership = request.member  # type: ignore[attr-defined]
    conv = access_conversation(member, number)
    return _act(
        request,
        conv,
        "reply_channel",
        lambda: do_set_reply_channel(member, conv, _channel(member, request.POST.get("channel"))),
    )


@workspace_view
@require_POST
def retry(request: HttpRequest, number: int, message_id: int) -> HttpResponse:
    """Send a reply that failed again (a fresh series of attempts)."""
    member: Membership = request.member  # type: ignore[attr-defined]
    conv = access_conversation(member, number)
    message = access_message(member, message_id)
    if message.conversation_id != conv.pk or message.direction != Direction.OUT:
        raise NotFound()

    def run() -> Any:
        if do_retry_delivery(message) is None:
            raise Conflict(_("This message is not waiting for a retry."), code="nothing_to_retry")
        return None

    return _act(request, conv, f"retry_{message.pk}", run)
