"""The inbox's rows: read as plain values and written as HTML in Python.

The inbox is the page agents open most, and a first page is fifty rows. Read as model instances
(conversation, customer, channel, member, user, team: about 350 objects a page, every JSON and
date column converted) and written through Django's template engine (some fifty variable
look-ups, tags and filters a row), fifty rows cost 45–90 ms — two thirds of the page. Read as the
values a row shows and written here, they cost a few milliseconds. The markup is the same the
template wrote (tests and workspace.js read its classes and data attributes).
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from django.db.models import Case, OuterRef, QuerySet, Subquery, Value, When
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from ..models import Conversation, CustomerIdentity, Priority, Status
from ..templatetags.workspace_tags import avatar, sla_clock_html
from .workspace import duration_words, full_when, when_words


def escape(value: object) -> str:
    """Django's escape without its lazy-string and SafeString wrapping, which cost a fifth of
    the rows' time (some 500 calls a page); the same characters are replaced."""
    return html.escape(str(value))


# What a row reads of a conversation and the rows it points to (one query with its joins).
_FIELDS = (
    "pk",
    "number",
    "status",
    "priority",
    "subject",
    "last_message_at",
    "waiting_since",
    "snoozed_until",
    "first_response_at",
    "first_response_due",
    "promised_by",
    "next_response_due",
    "resolution_due",
    "sla_paused_at",
    "customer_id",
    "customer__name",
    "channel__name",
    "assignee__user__name",
    "assignee__user__email",
    "team__name",
)


@dataclass(slots=True)
class Row:
    """One inbox row: what it shows, the clock inputs of `running_clock`, and its sort keys."""

    pk: int
    number: int
    status: str
    priority: str
    subject: str
    last_message_at: dt.datetime
    waiting_since: dt.datetime | None
    snoozed_until: dt.datetime | None
    first_response_at: dt.datetime | None
    first_response_due: dt.datetime | None
    promised_by: dt.datetime | None
    next_response_due: dt.datetime | None
    resolution_due: dt.datetime | None
    sla_paused_at: dt.datetime | None
    customer_id: int
    customer_name: str
    channel_name: str
    assignee_name: str  # "" when unassigned
    team_name: str
    snippet: str
    last_direction: str
    # Sort keys, when the order annotated them (for the next page's cursor).
    due_key: dt.datetime | None = None
    wait_key: dt.datetime | None = None
    rank: int | None = None
    tags: list[tuple[str, str]] = field(default_factory=list)  # (name, colour)


def rows_of(qs: QuerySet[Conversation], limit: int) -> list[Row]:
    """At most `limit` rows of the ordered, annotated queryset `qs`, in two queries: the rows and
    their tags."""
    keys = [k for k in ("due_key", "wait_key", "rank") if k in qs.query.annotations]
    # Customer.display_name: their name, else their first address (read only for the nameless).
    first_address = CustomerIdentity.objects.filter(customer_id=OuterRef("customer_id")).order_by("pk")
    qs = qs.annotate(
        customer_address=Case(
            When(customer__name="", then=Subquery(first_address.values("address")[:1])), default=Value("")
        )
    )
    rows = []
    for values in qs.values(*_FIELDS, "snippet", "last_direction", "customer_address", *keys)[:limit]:
        user_name = values["assignee__user__name"]
        user_email = values["assignee__user__email"]
        rows.append(
            Row(
                pk=values["pk"],
                number=values["number"],
                status=values["status"],
                priority=values["priority"],
                subject=values["subject"],
                last_message_at=values["last_message_at"],
                waiting_since=values["waiting_since"],
                snoozed_until=values["snoozed_until"],
                first_response_at=values["first_response_at"],
                first_response_due=values["first_response_due"],
                promised_by=values["promised_by"],
                next_response_due=values["next_response_due"],
                resolution_due=values["resolution_due"],
                sla_paused_at=values["sla_paused_at"],
                customer_id=values["customer_id"],
                customer_name=values["customer__name"]
                or values["customer_address"]
                or _("Customer #%(id)s") % {"id": values["customer_id"]},
                channel_name=values["channel__name"],
                # Member.display_name: the user's name, else the start of their address.
                assignee_name=(user_name or user_email.split("@")[0]) if user_email else "",
                team_name=values["team__name"] or "",
                snippet=values["snippet"] or "",
                last_direction=values["last_direction"] or "",
                **{k: values[k] for k in keys},
            )
        )
    _add_tags(rows)
    return rows


def _add_tags(rows: Sequence[Row]) -> None:
    if not rows:
        return
    by_id = {row.pk: row for row in rows}
    links = Conversation.tags.through.objects.filter(conversation_id__in=list(by_id))
    fields = ("conversation_id", "tag__name", "tag__color")
    for conversation_id, name, color in links.values_list(*fields).order_by("tag__name", "tag_id"):
        by_id[conversation_id].tags.append((name, color))


def render_rows(rows: Iterable[Row], tenant_slug: str) -> SafeString:
    """The rows' HTML (<li> each), in the active language and time zone."""
    now = timezone.now()
    words = {
        "new": escape(_("New")),
        "written_last": escape(_("The customer wrote last")),
        "unanswered": escape(_("Unanswered")),
        "no_subject": escape(_("(no subject)")),
        "our_reply": escape(_("Our reply")),
        "unassigned": escape(_("Unassigned")),
        **{f"status-{value}": escape(label) for value, label in Status.choices},
        **{f"priority-{value}": escape(label) for value, label in Priority.choices},
    }
    # One URL resolution for the page, not one per row: the rows' links differ only in the number.
    url = reverse("conversation", args=[tenant_slug, 0]).removesuffix("0/")
    written = "".join(_row(c, f"{url}{c.number}/", now, words) for c in rows)
    return mark_safe(written)  # every value in it is escaped


def _row(c: Row, url: str, now: dt.datetime, words: Mapping[str, str]) -> str:
    if c.status == "new":
        marker = (
            f'<span class="dot-new" title="{words["new"]}"><span class="sr-only">{words["new"]}</span></span>'
        )
    elif c.waiting_since:
        marker = (
            f'<span class="dot-waiting" title="{words["written_last"]}">'
            f'<span class="sr-only">{words["unanswered"]}</span></span>'
        )
    else:
        marker = ""
    line = f'<span class="row-subject">{escape(c.subject) if c.subject else words["no_subject"]}</span>'
    if c.snippet and c.snippet != c.subject:
        reply = ""
        if c.last_direction == "out":
            reply = f'<span class="snippet-out" title="{words["our_reply"]}">↪</span> '
        line += f'<span class="row-snippet"> — {reply}{escape(c.snippet)}</span>'
    status = escape(c.status)
    meta = [f'<span class="badge status-{status}">{words.get(f"status-{c.status}", status)}</span>']
    if c.priority != "normal":
        priority = escape(c.priority)
        meta.append(
            f'<span class="badge priority-{priority}">{words.get(f"priority-{c.priority}", priority)}</span>'
        )
    meta.append(sla_clock_html(c, now))
    if c.snoozed_until is not None and c.snoozed_until > now:
        until = _("Snoozed until %(when)s") % {"when": when_words(c.snoozed_until, now)}
        meta.append(_titled("badge snoozed", full_when(c.snoozed_until), until))
    meta.append(f'<span class="chip channel-chip">{escape(c.channel_name)}</span>')
    for name, color in c.tags:
        meta.append(f'<span class="tag" style="--tag-color: {escape(color)}">{escape(name)}</span>')
    if c.waiting_since:
        waiting = _("waiting for %(for)s") % {"for": duration_words(now - c.waiting_since)}
        meta.append(_titled("waiting", full_when(c.waiting_since), waiting))
    if c.assignee_name:
        who = f"{avatar(c.assignee_name, 'xs')}{escape(c.assignee_name)}"
    else:
        who = f'<span class="muted">{words["unassigned"]}</span>'
    if c.team_name:
        who += f" · {escape(c.team_name)}"
    meta.append(f'<span class="row-assignee">{who}</span>')
    at = c.last_message_at
    number = c.number
    classes = f"inbox-row status-{status}"
    classes += (" is-waiting" if c.waiting_since else "") + (" is-new" if c.status == "new" else "")
    return (
        f'\n<li class="{classes}" data-testid="inbox-row" data-number="{number}" id="inbox-row-{number}">'
        f'\n  <a class="inbox-row-link" href="{escape(url)}">'
        f'\n    <span class="row-marker">{marker}</span>'
        f"\n    {avatar(c.customer_name)}"
        '\n    <span class="row-body">'
        '\n      <span class="row-top">'
        f'\n        <span class="row-customer">{escape(c.customer_name)}</span>'
        f'\n        <span class="row-number">#{number}</span>'
        f'\n        <span class="row-presence" data-presence-for="{number}"></span>'
        f'\n        <time class="row-time" datetime="{timezone.localtime(at).isoformat()}"'
        f' title="{escape(full_when(at))}">{escape(when_words(at, now))}</time>'
        "\n      </span>"
        f'\n      <span class="row-line">{line}</span>'
        '\n      <span class="row-meta">\n        '
        + "\n        ".join(m for m in meta if m)
        + "\n      </span>\n    </span>\n  </a>\n</li>"
    )


def _titled(classes: str, title: str, text: str) -> str:
    return f'<span class="{classes}" title="{escape(title)}">{escape(text)}</span>'
