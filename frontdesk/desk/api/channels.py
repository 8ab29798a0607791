"""Channels (read-only): where customers reach the shop and replies can go."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from ..access import access_channel
from ..models import Channel
from . import errors
from .auth import member_of
from .pagination import paginate
from .schemas import ChannelId, ChannelOut, ChannelPage, PageParams

router = Router(tags=["channels"])


@router.get("", response=errors.responses({200: ChannelPage}, errors.LIST), summary="List channels")
def list_channels(request: HttpRequest, page: Query[PageParams]) -> dict[str, Any]:
    """Channels of the shop by name. Their settings and secrets are managed in the web UI."""
    qs = Channel.objects.filter(tenant=member_of(request).tenant)
    rows, next_cursor = paginate(qs, ("name", "id"), cursor=page.cursor, limit=page.limit)
    return {"items": rows, "next_cursor": next_cursor}


@router.get(
    "/{int:channel_id}", response=errors.responses({200: ChannelOut}, errors.READ), summary="Read a channel"
)
def get_channel(request: HttpRequest, channel_id: ChannelId) -> Channel:
    """One channel."""
    return access_channel(member_of(request), channel_id)
