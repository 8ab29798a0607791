"""Filters of the agent workspace: times in words, avatars, note text with @mentions."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import normalize_newlines
from django.utils.translation import gettext_lazy

from ..lib.mentions import MENTION_RE
from ..views.workspace import duration_words, full_when, when_words

register = template.Library()


@register.filter
def when(value: dt.datetime | None) -> str:
    """{{ message.created_at|when }} → "14:05", "yesterday 14:05", "12 Mar"."""
    return when_words(value)


@register.filter
def exact(value: dt.datetime | None) -> str:
    """{{ value|exact }} → the full date and time with its zone (for title attributes)."""
    return full_when(value)


@register.filter
def since(value: dt.datetime | None) -> str:
    """{{ conversation.waiting_since|since }} → "2 h"."""
    if value is None:
        return ""
    return duration_words(timezone.now() - value)


@register.filter
def until(value: dt.datetime | None) -> str:
    """{{ conversation.snoozed_until|until }} → "3 h"."""
    if value is None:
        return ""
    return duration_words(value - timezone.now())


@register.filter
def initials(name: Any) -> str:
    words = [w for w in re.split(r"[\s@._-]+", str(name or "")) if w and w[0].isalpha()]
    if not words:
        return "?"
    if len(words) == 1:
        return words[0][:2].upper()
    return (words[0][0] + words[-1][0]).upper()


@register.filter
def hue(name: Any) -> int:
    """A stable colour (hue in degrees) per name, so a person's avatar looks the same everywhere."""
    return int(hashlib.sha256(str(name or "").encode()).hexdigest()[:4], 16) % 360


@register.filter
def note_text(text: str) -> SafeString:
    """Escaped note text with line breaks kept and @mentions highlighted."""
    escaped = escape(normalize_newlines(text or ""))
    highlighted = MENTION_RE.sub(lambda m: f'<span class="mention">{m.group(0)}</span>', escaped)
    return mark_safe(highlighted.replace("\n", "<br>"))


@register.filter
def attribute_value(value: Any) -> str:
    """A customer attribute as text: strings as they are, anything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


@register.simple_tag
def avatar(name: Any, size: str = "") -> SafeString:
    """A round badge with the person's initials."""
    classes = "avatar" + (f" avatar-{size}" if size else "")
    return format_html(
        '<span class="{}" style="--hue: {}" aria-hidden="true">{}</span>', classes, hue(name), initials(name)
    )


@register.simple_tag
def sla_clock(conversation: Any) -> SafeString:
    """The conversation's most pressing running clock as a badge: "First answer due in 2 h",
    "Answer overdue by 35 min" (docs/service.md). Nothing when no clock runs."""
    return sla_clock_html(conversation, timezone.now())


# (target, overdue) → the badge's words, with the time left (or past) as `left`.
_CLOCK_WORDS = {
    ("first_response", False): gettext_lazy("First answer due in %(left)s"),
    ("next_response", False): gettext_lazy("Answer due in %(left)s"),
    ("promise", False): gettext_lazy("Promised answer in %(left)s"),
    ("resolution", False): gettext_lazy("Resolution due in %(left)s"),
    ("first_response", True): gettext_lazy("First answer overdue by %(left)s"),
    ("next_response", True): gettext_lazy("Answer overdue by %(left)s"),
    ("promise", True): gettext_lazy("Promise broken %(left)s ago"),
    ("resolution", True): gettext_lazy("Resolution overdue by %(left)s"),
}


def sla_clock_html(conversation: Any, now: dt.datetime) -> SafeString:
    """`sla_clock` for anything with a conversation's clock fields (a Conversation, an inbox row)."""
    from ..actions.sla import running_clock

    clock = running_clock(conversation)
    if clock is None:
        return mark_safe("")
    target, due = clock
    overdue = due <= now
    words = str(_CLOCK_WORDS[(target, overdue)]) % {"left": duration_words(abs(due - now))}
    return format_html(
        '<span class="badge sla-clock{}" data-testid="sla-clock" data-target="{}" title="{}">'
        '<time datetime="{}">{}</time></span>',
        " is-overdue" if overdue else "",
        target,
        full_when(due),
        timezone.localtime(due).isoformat(),
        words,
    )


@register.inclusion_tag("desk/conversation/_promise.html")
def promise_panel(conversation: Any) -> dict[str, Any]:
    """What the customer was promised, whether it was kept, and why it was that time (the inputs
    stored with the promise.made event: desk/actions/promise.py)."""
    from ..models import Event

    if conversation.promised_by is None:
        return {"promise": None}
    made = (
        Event.objects.filter(tenant_id=conversation.tenant_id, conversation=conversation, kind="promise.made")
        .order_by("-id")
        .first()
    )
    why = (made.data or {}).get("why", {}) if made is not None else {}
    return {
        "promise": {
            "by": conversation.promised_by,
            "kept": conversation.promise_kept,
            "original": conversation.promise_original,
            "why": why,
            "decided_by_queue": why.get("by") == "queue",
        }
    }


@register.simple_tag
def inbox_rows(rows: Any, tenant_slug: str) -> SafeString:
    """The inbox's rows (views/inbox_rows.py: written in Python, the page's hottest loop)."""
    from ..views.inbox_rows import render_rows

    return render_rows(rows, tenant_slug)
