"""Teams: groups of members that conversations can be assigned to."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router
from ninja.responses import Status as HttpStatus

from ..access import access_member, access_team
from ..actions.admin import do_delete_team, do_save_team
from ..errors import Invalid, NotFound
from ..models import Membership, Team
from . import errors
from .auth import member_of
from .common import related
from .pagination import paginate
from .schemas import MemberId, PageParams, TeamId, TeamIn, TeamMemberIn, TeamOut, TeamPage, TeamPatch

router = Router(tags=["teams"])


def _members(member: Membership, ids: list[int]) -> list[Membership]:
    wanted = set(ids)
    found = list(Membership.objects.filter(tenant=member.tenant, pk__in=wanted))
    missing = wanted - {m.pk for m in found}
    if missing:
        raise Invalid(fields={"members": [_("Unknown member ids: %(ids)s.") % {"ids": sorted(missing)}]})
    return found


@router.get("", response=errors.responses({200: TeamPage}, errors.LIST), summary="List teams")
def list_teams(request: HttpRequest, page: Query[PageParams]) -> dict[str, Any]:
    """Teams of the shop by name, with their members."""
    qs = Team.objects.filter(tenant=member_of(request).tenant).prefetch_related("members__user")
    rows, next_cursor = paginate(qs, ("name", "id"), cursor=page.cursor, limit=page.limit)
    return {"items": rows, "next_cursor": next_cursor}


@router.post("", response=errors.responses({201: TeamOut}, errors.CREATE), summary="Create a team")
def create_team(request: HttpRequest, payload: TeamIn) -> HttpStatus:
    """Needs a supervisor or higher. Names are unique in the shop (409 `duplicate_name`)."""
    member = member_of(request)
    team = do_save_team(
        member,
        None,
        name=payload.name,
        description=payload.description,
        members=_members(member, payload.members),
    )
    return HttpStatus(201, team)


@router.get("/{int:team_id}", response=errors.responses({200: TeamOut}, errors.READ), summary="Read a team")
def get_team(request: HttpRequest, team_id: TeamId) -> Team:
    """One team with its members."""
    return access_team(member_of(request), team_id)


@router.patch(
    "/{int:team_id}", response=errors.responses({200: TeamOut}, errors.WRITE), summary="Change a team"
)
def update_team(request: HttpRequest, team_id: TeamId, payload: TeamPatch) -> Team:
    """Change the name, description or members (`members` is the whole new list). Needs a supervisor."""
    member = member_of(request)
    team = access_team(member, team_id)
    fields = payload.model_fields_set
    do_save_team(
        member,
        team,
        name=payload.name if "name" in fields else team.name,
        description=payload.description if "description" in fields else team.description,
        members=_members(member, payload.members) if "members" in fields else None,
    )
    return access_team(member, team_id)


@router.delete(
    "/{int:team_id}", response=errors.responses({204: None}, errors.DELETE), summary="Delete a team"
)
def delete_team(request: HttpRequest, team_id: TeamId) -> HttpStatus:
    """Needs an admin. Its conversations keep their assignee and lose the team."""
    member = member_of(request)
    do_delete_team(member, access_team(member, team_id))
    return HttpStatus(204, None)


@router.post(
    "/{int:team_id}/members",
    response=errors.responses({200: TeamOut}, errors.WRITE),
    summary="Add a team member",
)
def add_team_member(request: HttpRequest, team_id: TeamId, payload: TeamMemberIn) -> Team:
    """Add one member to the team (no change if they are in it). Needs a supervisor."""
    member = member_of(request)
    team = access_team(member, team_id)
    new = related(access_member, member, payload.member, "member")
    current = list(team.members.all())
    if new not in current:
        do_save_team(member, team, name=team.name, description=team.description, members=[*current, new])
    return access_team(member, team_id)


@router.delete(
    "/{int:team_id}/members/{int:member_id}",
    response=errors.responses({204: None}, errors.DELETE),
    summary="Remove a team member",
)
def remove_team_member(request: HttpRequest, team_id: TeamId, member_id: MemberId) -> HttpStatus:
    """Take one member out of the team (404 if they are not in it). Needs a supervisor."""
    member = member_of(request)
    team = access_team(member, team_id)
    gone = access_member(member, member_id)
    current = list(team.members.all())
    if gone not in current:
        raise NotFound()
    do_save_team(
        member, team, name=team.name, description=team.description, members=[m for m in current if m != gone]
    )
    return HttpStatus(204, None)
