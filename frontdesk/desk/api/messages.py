"""Messages of a conversation: the thread, replies to the customer and internal notes."""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.responses import Status as HttpStatus

from frontdesk.channels.base import InboundAttachment

from ..access import access_channel, access_conversation, access_message
from ..actions.conversations import do_add_note, do_reply
from ..errors import NotFound
from ..models import Direction, Message
from . import errors
from .auth import member_of
from .common import related
from .pagination import paginate
from .schemas import (
    AttachmentIn,
    ConversationNumber,
    MessageId,
    MessageOut,
    MessagePage,
    NoteIn,
    NotGiven,
    PageParams,
    ReplyIn,
)

router = Router(tags=["messages"])

ORDERINGS: dict[str, tuple[str, ...]] = {
    "created_at": ("created_at", "id"),
    "-created_at": ("-created_at", "-id"),
}


class MessageFilters(Schema):
    direction: list[Direction] | NotGiven = Field(
        None, description="Only these directions: in, out, note (repeat the parameter)."
    )
    sort: Literal["created_at", "-created_at"] = Field(
        "created_at", description="`created_at`: the thread in order; `-created_at`: newest first."
    )


def _files(attachments: list[AttachmentIn]) -> list[InboundAttachment]:
    return [
        InboundAttachment(filename=a.filename, content_type=a.content_type, data=a.content())
        for a in attachments
    ]


@router.get(
    "/{int:number}/messages",
    response=errors.responses({200: MessagePage}, errors.READ),
    summary="List the messages of a conversation",
)
def list_messages(
    request: HttpRequest, number: ConversationNumber, filters: Query[MessageFilters], page: Query[PageParams]
) -> dict[str, Any]:
    """Messages from the customer, replies and internal notes, in thread order."""
    conversation = access_conversation(member_of(request), number)
    qs = (
        Message.objects.filter(tenant_id=conversation.tenant_id, conversation=conversation)
        .select_related("conversation", "author__user", "channel")
        .prefetch_related("attachments", "mentions")
    )
    if filters.direction:
        qs = qs.filter(direction__in=filters.direction)
    rows, next_cursor = paginate(qs, ORDERINGS[filters.sort], cursor=page.cursor, limit=page.limit)
    return {"items": rows, "next_cursor": next_cursor}


@router.get(
    "/{int:number}/messages/{int:message_id}",
    response=errors.responses({200: MessageOut}, errors.READ),
    summary="Read a message",
)
def get_message(request: HttpRequest, number: ConversationNumber, message_id: MessageId) -> Message:
    """One message of the conversation."""
    member = member_of(request)
    conversation = access_conversation(member, number)
    message = access_message(member, message_id)
    if message.conversation_id != conversation.pk:
        raise NotFound()
    return message


@router.post(
    "/{int:number}/replies",
    response=errors.responses({201: MessageOut}, errors.WRITE),
    summary="Reply to the customer",
)
def reply(request: HttpRequest, number: ConversationNumber, payload: ReplyIn) -> HttpStatus:
    """Answer the customer. The reply is stored and queued for delivery at once; follow
    `delivery_state` on the message to see it sent (or failed, with `delivery_error`)."""
    member = member_of(request)
    conversation = access_conversation(member, number)
    channel = related(access_channel, member, payload.channel, "channel") if payload.channel else None
    message = do_reply(
        member,
        conversation,
        payload.text,
        channel=channel,
        files=_files(payload.attachments),
        status=payload.status,
    )
    return HttpStatus(201, message)


@router.post(
    "/{int:number}/notes",
    response=errors.responses({201: MessageOut}, errors.WRITE),
    summary="Add an internal note",
)
def add_note(request: HttpRequest, number: ConversationNumber, payload: NoteIn) -> HttpStatus:
    """An internal note, never sent to the customer. `@handle` mentions (the part of a member's
    email before @, or their first name) notify those members."""
    member = member_of(request)
    conversation = access_conversation(member, number)
    message = do_add_note(member, conversation, payload.text, files=_files(payload.attachments))
    return HttpStatus(201, message)
