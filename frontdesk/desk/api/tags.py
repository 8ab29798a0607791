"""Tags: labels on conversations."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router
from ninja.responses import Status as HttpStatus

from ..access import access_tag
from ..actions.admin import do_delete_tag, do_save_tag
from ..models import Tag
from . import errors
from .auth import member_of
from .pagination import paginate
from .schemas import PageParams, TagId, TagIn, TagOut, TagPage, TagPatch

router = Router(tags=["tags"])


@router.get("", response=errors.responses({200: TagPage}, errors.LIST), summary="List tags")
def list_tags(request: HttpRequest, page: Query[PageParams]) -> dict[str, Any]:
    """Tags of the shop by name."""
    qs = Tag.objects.filter(tenant=member_of(request).tenant)
    rows, next_cursor = paginate(qs, ("name", "id"), cursor=page.cursor, limit=page.limit)
    return {"items": rows, "next_cursor": next_cursor}


@router.post("", response=errors.responses({201: TagOut}, errors.CREATE), summary="Create a tag")
def create_tag(request: HttpRequest, payload: TagIn) -> HttpStatus:
    """Needs a supervisor or higher. Names are unique in the shop (409 `duplicate_name`)."""
    return HttpStatus(201, do_save_tag(member_of(request), None, name=payload.name, color=payload.color))


@router.get("/{int:tag_id}", response=errors.responses({200: TagOut}, errors.READ), summary="Read a tag")
def get_tag(request: HttpRequest, tag_id: TagId) -> Tag:
    """One tag."""
    return access_tag(member_of(request), tag_id)


@router.patch("/{int:tag_id}", response=errors.responses({200: TagOut}, errors.WRITE), summary="Change a tag")
def update_tag(request: HttpRequest, tag_id: TagId, payload: TagPatch) -> Tag:
    """Rename or recolour. Needs a supervisor or higher."""
    member = member_of(request)
    tag = access_tag(member, tag_id)
    fields = payload.model_fields_set
    return do_save_tag(
        member,
        tag,
        name=payload.name if "name" in fields else tag.name,
        color=payload.color if "color" in fields else tag.color,
    )


@router.delete("/{int:tag_id}", response=errors.responses({204: None}, errors.DELETE), summary="Delete a tag")
def delete_tag(request: HttpRequest, tag_id: TagId) -> HttpStatus:
    """Needs an admin. The tag is taken off every conversation."""
    member = member_of(request)
    do_delete_tag(member, access_tag(member, tag_id))
    return HttpStatus(204, None)
