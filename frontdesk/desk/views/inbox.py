"""The inbox: the member's queues of conversations, filtered, sorted, paged by keyset.

Views (`view=`): mine, unassigned, team (the member's teams), all, snoozed. Without `view` the inbox
opens on "mine" when the member has active conversations assigned, else on "unassigned" — the next
work to pick up.

Status (`status=`): "active" (new, open, on hold; the default) hides snoozed conversations; any
explicit status ("pending", "resolved", … or "any") shows them too, marked as snoozed. The
"snoozed" view shows every snoozed conversation in any status.

Sort (`sort=`): recent (newest activity first; default), waiting (longest-waiting customer first),
priority (urgent first, then longest waiting). Pages continue after the last row's sort key
(`cursor=`), never by OFFSET, so deep pages cost the same as the first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

from django.db.models import (
    Case,
    Count,
    DateTimeField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Left
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from ..actions.sla import due_key
from ..errors import Invalid
from ..models import (
    ACTIVE_STATUSES,
    PRIORITY_RANK,
    Channel,
    Conversation,
    Direction,
    Membership,
    Message,
    Priority,
    Status,
    Tag,
    Team,
)
from .inbox_rows import Row, rows_of
from .workspace import PAGE_SIZE, decode_cursor, encode_cursor, last_event_id, workspace_view

VIEWS: dict[str, Any] = {
    "mine": gettext_lazy("Mine"),
    "unassigned": gettext_lazy("Unassigned"),
    "team": gettext_lazy("My teams"),
    "all": gettext_lazy("All"),
    "snoozed": gettext_lazy("Snoozed"),
}
SORTS: dict[str, Any] = {
    "recent": gettext_lazy("Newest activity"),
    "waiting": gettext_lazy("Waiting longest"),
    "priority": gettext_lazy("Priority"),
    "due": gettext_lazy("Due soonest"),
}
STATUS_FILTERS: dict[str, Any] = {
    "active": gettext_lazy("Active (new, open, on hold)"),
    **dict(Status.choices),
    "any": gettext_lazy("Any status"),
}
# Shortcuts in the sidebar to conversations outside the active queue.
STATUS_LINKS = (Status.PENDING, Status.ON_HOLD, Status.RESOLVED, Status.CLOSED)
# Sorts "not waiting" (the shop spoke last) after every waiting conversation.
NOT_WAITING = dt.datetime(9000, 1, 1, tzinfo=dt.UTC)
SNIPPET_CHARS = 160


@dataclass
class InboxQuery:
    view: str
    status: str
    sort: str
    channel: int | None = None
    tag: int | None = None
    priority: str | None = None
    assignee: int | str | None = None  # a membership id, or "none"
    team: int | None = None
    cursor: str = ""
    filters_active: bool = False
    params: dict[str, str] = field(default_factory=dict)


def _int_param(params: QueryDict, name: str) -> int | None:
    value = params.get(name, "").strip()
    if not value:
        return None
    try:
        number = int(value)
    except ValueError:
        number = -1
    # Ids are positive 64-bit numbers; anything else cannot match and would overflow SQLite.
    if not 0 < number < 2**63:
        raise Invalid(_("The filter %(name)s must be an id.") % {"name": name}, code="bad_filter")
    return number


def parse_query(params: QueryDict, counts: dict[str, int]) -> InboxQuery:
    """The inbox query from the URL; Invalid for values no link of ours produces."""
    view = params.get("view") or ("mine" if counts.get("mine") else "unassigned")
    if view not in VIEWS:
        raise Invalid(_("Unknown inbox view."), code="bad_filter")
    status = params.get("status") or ("any" if view == "snoozed" else "active")
    if status not in STATUS_FILTERS:
        raise Invalid(_("Unknown status."), code="bad_filter")
    sort = params.get("sort") or "recent"
    if sort not in SORTS:
        raise Invalid(_("Unknown sort order."), code="bad_filter")
    priority = params.get("priority") or None
    if priority is not None and priority not in Priority.values:
        raise Invalid(_("Unknown priority."), code="bad_filter")
    assignee: int | str | None = params.get("assignee") or None
    if assignee is not None and assignee != "none":
        assignee = _int_param(params, "assignee")
    query = InboxQuery(
        view=view,
        status=status,
        sort=sort,
        channel=_int_param(params, "channel"),
        tag=_int_param(params, "tag"),
        priority=priority,
        assignee=assignee,
        team=_int_param(params, "team"),
        cursor=params.get("cursor", ""),
    )
    query.filters_active = any(
        v is not None for v in (query.channel, query.tag, query.priority, query.assignee, query.team)
    )
    query.params = {k: str(v) for k, v in params.items() if k not in ("cursor", "rows") and v}
    query.params["view"] = view
    return query


def _base(member: Membership) -> QuerySet[Conversation]:
    # Conversations merged into another live on in their target; the inbox never lists them.
    return Conversation.objects.filter(tenant_id=member.tenant_id, merged_into__isnull=True)


def _my_teams(member: Membership) -> QuerySet[Team]:
    return Team.objects.filter(members=member).values("pk")  # type: ignore[return-value]


def view_counts(member: Membership, now: dt.datetime) -> dict[str, int]:
    """How many conversations each view holds (with its default status), in two queries.

    Each reads only the rows it counts, through an index (active statuses: conv_status_recent;
    snoozed: conv_snoozed): a shop's history of resolved conversations, a million rows after a few
    years, is never scanned (docs/performance.md)."""
    awake = Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=now)
    counts = (
        _base(member)
        .filter(awake, status__in=ACTIVE_STATUSES)
        .aggregate(
            mine=Count("pk", filter=Q(assignee=member)),
            unassigned=Count("pk", filter=Q(assignee__isnull=True)),
            team=Count("pk", filter=Q(team__in=_my_teams(member))),
            all=Count("pk"),
        )
    )
    counts["snoozed"] = _base(member).filter(snoozed_until__gt=now).count()
    return counts


def _rank() -> Case:
    return Case(
        *(When(priority=p, then=Value(rank)) for p, rank in PRIORITY_RANK.items()),
        default=Value(1),
        output_field=IntegerField(),
    )


def filtered(member: Membership, query: InboxQuery, now: dt.datetime) -> QuerySet[Conversation]:
    qs = _base(member)
    if query.view == "mine":
        qs = qs.filter(assignee=member)
    elif query.view == "unassigned":
        qs = qs.filter(assignee__isnull=True)
    elif query.view == "team":
        qs = qs.filter(team__in=_my_teams(member))
    elif query.view == "snoozed":
        qs = qs.filter(snoozed_until__gt=now)
    if query.status == "active":
        qs = qs.filter(status__in=ACTIVE_STATUSES)
        if query.view != "snoozed":
            qs = qs.filter(Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=now))
    elif query.status != "any":
        qs = qs.filter(status=query.status)
    if query.channel is not None:
        qs = qs.filter(channel_id=query.channel)
    if query.tag is not None:
        qs = qs.filter(tags__id=query.tag)
    if query.priority is not None:
        qs = qs.filter(priority=query.priority)
    if query.assignee == "none":
        qs = qs.filter(assignee__isnull=True)
    elif isinstance(query.assignee, int):
        qs = qs.filter(assignee_id=query.assignee)
    if query.team is not None:
        qs = qs.filter(team_id=query.team)
    return qs


def _ordered(qs: QuerySet[Conversation], query: InboxQuery) -> QuerySet[Conversation]:
    """Sort, and continue after the cursor's row when there is one."""
    wait_key = Coalesce("waiting_since", Value(NOT_WAITING), output_field=DateTimeField())
    if query.sort == "due":
        qs = qs.annotate(due_key=due_key()).order_by("due_key", "id")
        if query.cursor:
            at, pk = decode_cursor(query.cursor, (dt.datetime, int))
            qs = qs.filter(Q(due_key__gt=at) | Q(due_key=at, id__gt=pk))
        return qs
    if query.sort == "recent":
        qs = qs.order_by("-last_message_at", "-id")
        if query.cursor:
            at, pk = decode_cursor(query.cursor, (dt.datetime, int))
            qs = qs.filter(Q(last_message_at__lt=at) | Q(last_message_at=at, id__lt=pk))
    elif query.sort == "waiting":
        qs = qs.annotate(wait_key=wait_key).order_by("wait_key", "id")
        if query.cursor:
            at, pk = decode_cursor(query.cursor, (dt.datetime, int))
            qs = qs.filter(Q(wait_key__gt=at) | Q(wait_key=at, id__gt=pk))
    else:
        qs = qs.annotate(rank=_rank(), wait_key=wait_key).order_by("-rank", "wait_key", "id")
        if query.cursor:
            rank, at, pk = decode_cursor(query.cursor, (int, dt.datetime, int))
            qs = qs.filter(
                Q(rank__lt=rank) | Q(rank=rank, wait_key__gt=at) | Q(rank=rank, wait_key=at, id__gt=pk)
            )
    return qs


def _cursor_of(conversation: Any, query: InboxQuery) -> str:
    if query.sort == "recent":
        return encode_cursor([conversation.last_message_at, conversation.pk])
    if query.sort == "waiting":
        return encode_cursor([conversation.wait_key, conversation.pk])
    if query.sort == "due":
        return encode_cursor([conversation.due_key, conversation.pk])
    return encode_cursor([conversation.rank, conversation.wait_key, conversation.pk])


def page_of(member: Membership, query: InboxQuery, now: dt.datetime) -> tuple[list[Row], str]:
    """One page of rows with everything a row shows, in a fixed number of queries; and the next cursor."""
    last_message = Message.objects.filter(conversation=OuterRef("pk")).exclude(direction=Direction.NOTE)
    last_message = last_message.order_by("-created_at", "-id")
    qs = _ordered(filtered(member, query, now), query)
    if query.sort != "recent":
        # These sorts are by a computed key, so the database sorts every matching row (a shop's
        # active work, thousands), and SQLite computes a row's whole select list — the last
        # message's two subqueries included — before sorting it. Pick the page's ids by the key
        # alone, in the same statement, and read the rows of just those.
        page = qs.values("pk")[: PAGE_SIZE + 1]
        qs = _ordered(Conversation.objects.filter(pk__in=page), replace(query, cursor=""))
    qs = qs.annotate(
        snippet=Left(Subquery(last_message.values("text")[:1]), SNIPPET_CHARS),
        last_direction=Subquery(last_message.values("direction")[:1]),
    )
    rows = rows_of(qs, PAGE_SIZE + 1)
    next_cursor = ""
    if len(rows) > PAGE_SIZE:
        rows = rows[:PAGE_SIZE]
        next_cursor = _cursor_of(rows[-1], query)
    return rows, next_cursor


def _context(request: HttpRequest, *, with_options: bool) -> dict[str, Any]:
    member: Membership = request.member  # type: ignore[attr-defined]
    now = timezone.now()
    counts = view_counts(member, now)
    query = parse_query(request.GET, counts)
    rows, next_cursor = page_of(member, query, now)
    base_url = reverse("inbox", args=[member.tenant.slug])
    list_url = reverse("inbox_list", args=[member.tenant.slug])
    first_params = QueryDict(mutable=True)
    first_params.update(query.params)
    next_params = first_params.copy()
    next_params["cursor"] = next_cursor
    context: dict[str, Any] = {
        "nav": "inbox",
        "query": query,
        "list_query": first_params.urlencode(),
        "counts": counts,
        "view_links": [(key, label, counts[key]) for key, label in VIEWS.items()],
        "status_links": [(s, STATUS_FILTERS[s]) for s in STATUS_LINKS],
        "rows": rows,
        "next_cursor": next_cursor,
        "next_url": f"{base_url}?{next_params.urlencode()}" if next_cursor else "",
        "next_rows_url": f"{list_url}?{next_params.urlencode()}&rows=1" if next_cursor else "",
        "now": now,
        "view_label": VIEWS[query.view],
    }
    if with_options:
        context.update(
            statuses=STATUS_FILTERS,
            sorts=SORTS,
            priorities=Priority.choices,
            channels=list(Channel.objects.filter(tenant_id=member.tenant_id).order_by("name")),
            tags=list(Tag.objects.filter(tenant_id=member.tenant_id).order_by("name")),
            members=list(
                Membership.objects.filter(tenant_id=member.tenant_id, is_active=True)
                .select_related("user")
                .order_by("user__name", "user__email")
            ),
            teams=list(Team.objects.filter(tenant_id=member.tenant_id).order_by("name")),
        )
    return context


def _bad_query(request: HttpRequest, exc: Invalid) -> HttpResponse:
    member: Membership = request.member  # type: ignore[attr-defined]
    context = {
        "nav": "inbox",
        "error_title": _("This inbox link does not work"),
        "error": exc.message,
        "back_url": reverse("inbox", args=[member.tenant.slug]),
    }
    response = render(request, "desk/inbox/error.html", context)
    response.status_code = 400
    return response


@workspace_view
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    resume_after = last_event_id(request.member)  # type: ignore[attr-defined]
    try:
        context = _context(request, with_options=True)
    except Invalid as exc:
        return _bad_query(request, exc)
    context["last_event_id"] = resume_after
    return render(request, "desk/inbox/inbox.html", context)


@workspace_view
@require_GET
def inbox_list(request: HttpRequest) -> HttpResponse:
    """The list (and the view counts) as fragments: for live refresh and "load more" (`rows=1`)."""
    try:
        context = _context(request, with_options=False)
    except Invalid as exc:
        return _bad_query(request, exc)
    template = "desk/inbox/_rows.html" if request.GET.get("rows") else "desk/inbox/_live.html"
    return render(request, template, context)
