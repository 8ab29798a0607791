"""Conversations: list with filters, read by number, change (status, assignee, tags…), merge."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from django.db import transaction
from django.db.models import DateTimeField, Q, QuerySet, prefetch_related_objects
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from ..access import access_channel, access_conversation, access_member, access_team, conversations_of
from ..actions.conversations import (
    do_assign,
    do_merge,
    do_set_priority,
    do_set_reply_channel,
    do_set_status,
    do_set_tags,
    do_snooze,
)
from ..actions.sla import due_key
from ..errors import Invalid
from ..models import Conversation, Priority, Status, Tag
from ..search import search_conversations
from . import errors
from .auth import member_of
from .common import related
from .pagination import paginate
from .schemas import (
    ConversationMerge,
    ConversationNumber,
    ConversationOut,
    ConversationPage,
    ConversationPatch,
    NotGiven,
    ObjectId,
    PageParams,
    Timestamp,
)

router = Router(tags=["conversations"])

ORDERINGS: dict[str, tuple[str, ...]] = {
    "-last_message_at": ("-last_message_at", "-id"),
    "-number": ("-number", "-id"),
    "updated_at": ("updated_at", "id"),
    "due": ("due_key", "id"),
}


# Filter values that are an id or a word ("me", "none"); the pattern is part of the documented type.
AssigneeFilter = Annotated[str, Field(pattern=r"^(me|none|[1-9][0-9]{0,17})$")]
TeamFilter = Annotated[str, Field(pattern=r"^(none|[1-9][0-9]{0,17})$")]


class ConversationFilters(Schema):
    status: list[Status] | NotGiven = Field(None, description="Only these statuses (repeat the parameter).")
    priority: list[Priority] | NotGiven = Field(
        None, description="Only these priorities (repeat the parameter)."
    )
    assignee: AssigneeFilter | NotGiven = Field(
        None, description='Member id, "me" (the token\'s member) or "none" (unassigned).'
    )
    team: TeamFilter | NotGiven = Field(None, description='Team id or "none".')
    channel: ObjectId | NotGiven = Field(None, description="Channel id the conversation started in.")
    tag: ObjectId | NotGiven = Field(None, description="Tag id.")
    customer: ObjectId | NotGiven = Field(None, description="Customer id.")
    snoozed: bool | NotGiven = Field(
        None, description="true: only snoozed ones; false: only those not snoozed."
    )
    updated_after: Timestamp | NotGiven = Field(
        None, description="Only those changed after this time (with a time zone)."
    )
    q: str | NotGiven = Field(
        None,
        min_length=1,
        max_length=200,
        description="Search: words (in messages, notes, subjects, customer names), `#123`, an email "
        "address, a phone number or a shop customer id. Results come newest match first, or best "
        "match first with `order=best`; not combined with other filters or sorts.",
    )
    order: Literal["newest", "best"] = Field(
        "newest",
        description="Only with `q`: `newest` (newest match first, the default) or `best` (best match "
        "first: relevance of the matching messages, subjects and customer names, among the newest "
        "500 matching documents of each kind; see docs/search.md). Cursors are for one order.",
    )
    sort: Literal["-last_message_at", "-number", "updated_at", "due"] = Field(
        "-last_message_at",
        description="`-last_message_at`: latest activity first (the inbox); `-number`: newest first; "
        "`updated_at`: oldest change first (to sync changes with `updated_after`); `due`: the most "
        "pressing running response-time clock first (those without one last).",
    )


def _list_queryset(member: Any) -> QuerySet[Conversation]:
    return (
        conversations_of(member.tenant)
        .select_related(
            "customer", "channel", "reply_channel", "assignee__user", "team", "merged_into", "previous"
        )
        .prefetch_related("tags", "customer__identities")
    )


def _filtered(member: Any, f: ConversationFilters) -> QuerySet[Conversation]:
    qs = _list_queryset(member).filter(merged_into=None)
    if f.status:
        qs = qs.filter(status__in=f.status)
    if f.priority:
        qs = qs.filter(priority__in=f.priority)
    if f.assignee == "me":
        qs = qs.filter(assignee=member)
    elif f.assignee == "none":
        qs = qs.filter(assignee=None)
    elif f.assignee:
        qs = qs.filter(assignee_id=int(f.assignee))
    if f.team == "none":
        qs = qs.filter(team=None)
    elif f.team:
        qs = qs.filter(team_id=int(f.team))
    if f.channel:
        qs = qs.filter(channel_id=f.channel)
    if f.tag:
        qs = qs.filter(tags__id=f.tag)
    if f.customer:
        qs = qs.filter(customer_id=f.customer)
    if f.snoozed is not None:
        snoozed = Q(snoozed_until__gt=timezone.now())
        qs = qs.filter(snoozed if f.snoozed else ~snoozed | Q(snoozed_until=None))
    if f.updated_after:
        qs = qs.filter(updated_at__gt=f.updated_after)
    return qs


def _search(member: Any, f: ConversationFilters, page: PageParams) -> dict[str, Any]:
    """A page of the shop's search (desk.search), which has its own order and cursor."""
    others = sorted(f.model_fields_set - {"q", "sort", "order"})
    if f.sort != "-last_message_at":
        others.append("sort")
    if others:
        raise Invalid(
            _("A search (q) cannot be combined with: %(names)s.") % {"names": ", ".join(others)},
            fields={name: [_("Leave this out when searching with q.")] for name in others},
        )
    try:
        result = search_conversations(
            member.tenant_id, f.q or "", limit=page.limit, before=page.cursor, order=f.order
        )
    except Invalid as exc:
        if "before" not in exc.fields:
            raise
        raise Invalid(exc.message, code=exc.code, fields={"cursor": exc.fields["before"]}) from None
    rows = [hit.conversation for hit in result.hits]
    prefetch_related_objects(rows, "tags", "reply_channel", "merged_into", "previous")
    return {"items": rows, "next_cursor": result.next_cursor}


@router.get(
    "",
    response=errors.responses({200: ConversationPage}, errors.LIST),
    summary="List conversations",
)
def list_conversations(
    request: HttpRequest, filters: Query[ConversationFilters], page: Query[PageParams]
) -> dict[str, Any]:
    """Conversations of the shop, filtered and sorted, or found by a search (`q`). Merged
    conversations are left out (read them by number)."""
    member = member_of(request)
    if filters.q is not None:
        return _search(member, filters, page)
    if "order" in filters.model_fields_set:
        raise Invalid(
            _("The order of results (order) applies to a search only: add q, or use sort."),
            fields={"order": [_("Only with q.")]},
        )
    qs = _filtered(member, filters)
    annotated: dict[str, Any] = {}
    if filters.sort == "due":
        qs = qs.annotate(due_key=due_key())
        annotated["due_key"] = DateTimeField()
    rows, next_cursor = paginate(
        qs, ORDERINGS[filters.sort], cursor=page.cursor, limit=page.limit, annotated=annotated
    )
    return {"items": rows, "next_cursor": next_cursor}


@router.get(
    "/{int:number}",
    response=errors.responses({200: ConversationOut}, errors.READ),
    summary="Read a conversation",
)
def get_conversation(request: HttpRequest, number: ConversationNumber) -> Conversation:
    """One conversation by its number."""
    return access_conversation(member_of(request), number)


@router.patch(
    "/{int:number}",
    response=errors.responses({200: ConversationOut}, errors.WRITE),
    summary="Change a conversation",
)
def update_conversation(
    request: HttpRequest, number: ConversationNumber, payload: ConversationPatch
) -> Conversation:
    """Change status, priority, assignee, team, tags, snooze or reply channel. All the changes are
    made together or, when one is refused, none is."""
    member = member_of(request)
    conversation = access_conversation(member, number)
    data = {name: getattr(payload, name) for name in payload.model_fields_set}

    assignment: dict[str, Any] = {}
    if "assignee" in data:
        value = data["assignee"]
        assignment["assignee"] = (
            member
            if value == "me"
            else None
            if value is None
            else related(access_member, member, value, "assignee")
        )
    if "team" in data:
        value = data["team"]
        assignment["team"] = None if value is None else related(access_team, member, value, "team")
    tags = None
    if "tags" in data:
        wanted = set(data["tags"])
        tags = list(Tag.objects.filter(tenant=member.tenant, pk__in=wanted))
        missing = wanted - {t.pk for t in tags}
        if missing:
            raise Invalid(fields={"tags": [_("Unknown tag ids: %(ids)s.") % {"ids": sorted(missing)}]})
    channel = None
    if data.get("reply_channel") is not None:
        channel = related(access_channel, member, data["reply_channel"], "reply_channel")

    with transaction.atomic():
        if "status" in data:
            do_set_status(member, conversation, data["status"])
        if "priority" in data:
            do_set_priority(member, conversation, data["priority"])
        if assignment:
            do_assign(member, conversation, **assignment)
        if tags is not None:
            do_set_tags(member, conversation, tags)
        if "reply_channel" in data:
            do_set_reply_channel(member, conversation, channel)
        if "snoozed_until" in data:
            until: dt.datetime | None = data["snoozed_until"]
            do_snooze(member, conversation, until)
    return access_conversation(member, number)


@router.post(
    "/{int:number}/merge",
    response=errors.responses({200: ConversationOut}, errors.WRITE),
    summary="Merge into another conversation",
)
def merge_conversation(
    request: HttpRequest, number: ConversationNumber, payload: ConversationMerge
) -> Conversation:
    """Merge this conversation into `into` (same customer). Answers with the conversation merged into."""
    member = member_of(request)
    source = access_conversation(member, number)
    target = related(access_conversation, member, payload.into, "into")
    do_merge(member, source, target)
    return access_conversation(member, target.number)
