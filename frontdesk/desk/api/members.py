"""Members of the shop (the people answering customers) and invitations to join."""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.responses import Status as HttpStatus

from ..access import access_invitation, access_member
from ..actions.admin import do_invite, do_revoke_invitation, do_update_member
from ..errors import Conflict
from ..models import Availability, Invitation, Membership, Role
from . import errors
from .auth import member_of
from .pagination import paginate
from .schemas import (
    InvitationId,
    InvitationIn,
    InvitationOut,
    InvitationPage,
    MemberId,
    MemberOut,
    MemberPage,
    MemberPatch,
    NotGiven,
    PageParams,
)

router = Router(tags=["members"])


class MemberFilters(Schema):
    role: list[Role] | NotGiven = Field(None, description="Only these roles (repeat the parameter).")
    availability: list[Availability] | NotGiven = Field(None, description="Only these availabilities.")
    is_active: Literal["true", "false", "all"] = Field(
        "true", description="`true`: active members (default); `false`: deactivated ones; `all`: both."
    )


@router.get("", response=errors.responses({200: MemberPage}, errors.LIST), summary="List members")
def list_members(
    request: HttpRequest, filters: Query[MemberFilters], page: Query[PageParams]
) -> dict[str, Any]:
    """Members of the shop, oldest first."""
    qs = (
        Membership.objects.filter(tenant=member_of(request).tenant)
        .select_related("user")
        .prefetch_related("teams")
    )
    if filters.role:
        qs = qs.filter(role__in=filters.role)
    if filters.availability:
        qs = qs.filter(availability__in=filters.availability)
    if filters.is_active != "all":
        qs = qs.filter(is_active=filters.is_active == "true")
    rows, next_cursor = paginate(qs, ("id",), cursor=page.cursor, limit=page.limit)
    return {"items": rows, "next_cursor": next_cursor}


@router.get("/me", response=errors.responses({200: MemberOut}, errors.READ), summary="The token's member")
def get_me(request: HttpRequest) -> Membership:
    """The member the API token acts as: its role decides what the token may do."""
    return access_member(member_of(request), member_of(request).pk)


@router.get(
    "/{int:member_id}", response=errors.responses({200: MemberOut}, errors.READ), summary="Read a member"
)
def get_member(request: HttpRequest, member_id: MemberId) -> Membership:
    """One member, active or not."""
    return access_member(member_of(request), member_id)


@router.patch(
    "/{int:member_id}", response=errors.responses({200: MemberOut}, errors.WRITE), summary="Change a member"
)
def update_member(request: HttpRequest, member_id: MemberId, payload: MemberPatch) -> Membership:
    """Role, availability, capacity, languages, active. Anyone may change their own availability;
    the rest needs an admin, nobody gives a role above their own, and a shop keeps one owner."""
    member = member_of(request)
    target = access_member(member, member_id)
    data = {name: getattr(payload, name) for name in payload.model_fields_set}
    do_update_member(member, target, data)
    return access_member(member, member_id)


@router.get(
    "/invitations",
    response=errors.responses({200: InvitationPage}, errors.LIST),
    summary="List open invitations",
)
def list_invitations(request: HttpRequest, page: Query[PageParams]) -> dict[str, Any]:
    """Invitations not yet accepted, revoked or expired; newest first."""
    qs = Invitation.objects.filter(
        tenant=member_of(request).tenant, accepted_at=None, revoked_at=None, expires_at__gt=timezone.now()
    )
    rows, next_cursor = paginate(qs, ("-id",), cursor=page.cursor, limit=page.limit)
    return {"items": rows, "next_cursor": next_cursor}


@router.post(
    "/invitations",
    response=errors.responses({201: InvitationOut}, errors.CREATE),
    summary="Invite someone",
)
def invite(request: HttpRequest, payload: InvitationIn) -> HttpStatus:
    """Email an invitation link (valid 7 days) to join the shop with a role. Needs an admin; an
    earlier open invitation of the same address is replaced."""
    invitation, _link = do_invite(member_of(request), payload.email, payload.role)
    return HttpStatus(201, invitation)


@router.delete(
    "/invitations/{int:invitation_id}",
    response=errors.responses({204: None}, errors.DELETE),
    summary="Revoke an invitation",
)
def revoke_invitation(request: HttpRequest, invitation_id: InvitationId) -> HttpStatus:
    """The link stops working at once. Needs an admin; a closed invitation is a 409."""
    member = member_of(request)
    invitation = access_invitation(member, invitation_id)
    if not invitation.is_open:
        raise Conflict(
            _("This invitation was already accepted or revoked, or it has expired."), code="invitation_closed"
        )
    do_revoke_invitation(member, invitation)
    return HttpStatus(204, None)
