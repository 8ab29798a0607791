"""Teams and tags: supervisors and above edit them; deleting one needs an admin."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from ..access import access_tag, access_team
from ..actions.admin import do_delete_tag, do_delete_team, do_save_tag, do_save_team
from ..actions.calendars import calendars_of, do_set_calendar
from ..errors import ActionError, Invalid
from ..models import Membership, Role, Tag, Team
from .base import MemberRequest
from .settings_base import apply_errors, page, settings_view
from .settings_forms import TagForm, TeamForm


def _tenant_members(request: MemberRequest):  # type: ignore[no-untyped-def]
    return (
        Membership.objects.filter(tenant=request.member.tenant, is_active=True)
        .select_related("user")
        .order_by("user__name", "user__email")
    )


def _teams_page(request: MemberRequest, form: TeamForm, *, status: int = 200) -> HttpResponse:
    teams = (
        Team.objects.filter(tenant=request.member.tenant)
        .annotate(member_count=Count("members", filter=Q(members__is_active=True)))
        .order_by("name")
    )
    return page(
        request, "teams.html", {"section": "settings_teams", "teams": teams, "form": form}, status=status
    )


@settings_view(Role.SUPERVISOR, methods=("GET", "POST"))
def teams(request: MemberRequest) -> HttpResponse:
    """The teams; POST creates one."""
    people = _tenant_members(request)
    if request.method != "POST":
        return _teams_page(request, TeamForm(tenant_members=people))
    form = TeamForm(request.POST, tenant_members=people)
    if not form.is_valid():
        return _teams_page(request, form, status=422)
    try:
        team = do_save_team(
            request.member,
            None,
            name=form.cleaned_data["name"],
            description=form.cleaned_data["description"],
            members=form.cleaned_data["members"],
        )
    except ActionError as exc:
        apply_errors(form, exc)
        return _teams_page(request, form, status=exc.status)
    messages.success(request, _("The team %(name)s is created.") % {"name": team.name})
    return redirect("settings_teams", request.member.tenant.slug)


@settings_view(Role.SUPERVISOR, methods=("GET", "POST"))
def team_detail(request: MemberRequest, team_id: int) -> HttpResponse:
    team = access_team(request.member, team_id)
    people = _tenant_members(request)
    initial = {"name": team.name, "description": team.description, "members": list(team.members.all())}
    form = TeamForm(initial=initial, tenant_members=people)
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "save")
        if action == "delete":
            do_delete_team(request.member, team)
            messages.success(request, _("The team %(name)s is deleted.") % {"name": team.name})
            return redirect("settings_teams", request.member.tenant.slug)
        if action == "set_calendar":
            do_set_calendar(request.member, team, request.POST.get("calendar"))
            messages.success(request, _("The team's business hours are saved."))
            return redirect("settings_team", request.member.tenant.slug, team.pk)
        if action != "save":
            raise Invalid(_("Unknown action."))
        form = TeamForm(request.POST, initial=initial, tenant_members=people)
        if form.is_valid():
            try:
                do_save_team(
                    request.member,
                    team,
                    name=form.cleaned_data["name"],
                    description=form.cleaned_data["description"],
                    members=form.cleaned_data["members"],
                )
            except ActionError as exc:
                team.refresh_from_db()
                apply_errors(form, exc)
                status = exc.status
            else:
                messages.success(request, _("The team %(name)s is saved.") % {"name": team.name})
                return redirect("settings_teams", request.member.tenant.slug)
        else:
            status = 422
    return page(
        request,
        "team.html",
        {
            "section": "settings_teams",
            "team": team,
            "form": form,
            "can_delete": request.member.is_admin,
            # Calendars are an admin's to assign (do_set_calendar checks it too).
            "calendar_choices": calendars_of(request.member.tenant) if request.member.is_admin else None,
            "current_calendar_id": team.calendar_id,
        },
        status=status,
    )


def _tags_page(request: MemberRequest, form: TagForm, *, status: int = 200) -> HttpResponse:
    tags = (
        Tag.objects.filter(tenant=request.member.tenant)
        .annotate(conversation_count=Count("conversations"))
        .order_by("name")
    )
    return page(request, "tags.html", {"section": "settings_tags", "tags": tags, "form": form}, status=status)


@settings_view(Role.SUPERVISOR, methods=("GET", "POST"))
def tags(request: MemberRequest) -> HttpResponse:
    """The tags; POST creates one."""
    if request.method != "POST":
        return _tags_page(request, TagForm())
    form = TagForm(request.POST)
    if not form.is_valid():
        return _tags_page(request, form, status=422)
    try:
        tag = do_save_tag(
            request.member, None, name=form.cleaned_data["name"], color=form.cleaned_data["color"]
        )
    except ActionError as exc:
        apply_errors(form, exc)
        return _tags_page(request, form, status=exc.status)
    messages.success(request, _("The tag %(name)s is created.") % {"name": tag.name})
    return redirect("settings_tags", request.member.tenant.slug)


@settings_view(Role.SUPERVISOR, methods=("GET", "POST"))
def tag_detail(request: MemberRequest, tag_id: int) -> HttpResponse:
    tag = access_tag(request.member, tag_id)
    initial = {"name": tag.name, "color": tag.color}
    form = TagForm(initial=initial)
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "save")
        if action == "delete":
            do_delete_tag(request.member, tag)
            messages.success(request, _("The tag %(name)s is deleted.") % {"name": tag.name})
            return redirect("settings_tags", request.member.tenant.slug)
        if action != "save":
            raise Invalid(_("Unknown action."))
        form = TagForm(request.POST, initial=initial)
        if form.is_valid():
            try:
                do_save_tag(
                    request.member, tag, name=form.cleaned_data["name"], color=form.cleaned_data["color"]
                )
            except ActionError as exc:
                tag.refresh_from_db()
                apply_errors(form, exc)
                status = exc.status
            else:
                messages.success(request, _("The tag %(name)s is saved.") % {"name": tag.name})
                return redirect("settings_tags", request.member.tenant.slug)
        else:
            status = 422
    return page(
        request,
        "tag.html",
        {"section": "settings_tags", "tag": tag, "form": form, "can_delete": request.member.is_admin},
        status=status,
    )
