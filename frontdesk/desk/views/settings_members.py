"""Members of a shop and invitations by email."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _

from ..access import access_invitation, access_member
from ..actions.admin import do_invite, do_revoke_invitation, do_update_member
from ..errors import ActionError, Invalid
from ..models import ROLE_RANK, Invitation, Membership, Role
from .base import MemberRequest
from .settings_base import apply_errors, page, role_choices, settings_view
from .settings_forms import InviteForm, MemberForm, language_name


def can_manage(actor: Membership, target: Membership) -> bool:
    """Whether `actor` may change `target`: nobody changes a member ranked above them."""
    return actor.has_role(Role.ADMIN) and ROLE_RANK[Role(target.role)] <= ROLE_RANK[Role(actor.role)]


def _members_page(request: MemberRequest, invite_form: InviteForm, *, status: int = 200) -> HttpResponse:
    member = request.member
    members = list(
        Membership.objects.filter(tenant=member.tenant)
        .select_related("user")
        .order_by("-is_active", "user__name", "user__email")
    )
    rows = [
        {
            "m": m,
            "languages": ", ".join(language_name(c) for c in m.languages),
            "can_manage": can_manage(member, m),
        }
        for m in members
    ]
    now = timezone.now()
    invitations = list(
        Invitation.objects.filter(tenant=member.tenant, accepted_at=None, revoked_at=None)
        .filter(Q(expires_at__gt=now) | Q(created_at__gt=now - dt.timedelta(days=30)))
        .select_related("invited_by__user")
        .order_by("-created_at")
    )
    return page(
        request,
        "members.html",
        {"section": "settings_members", "rows": rows, "invitations": invitations, "invite_form": invite_form},
        status=status,
    )


@settings_view(Role.ADMIN, methods=("GET", "POST"))
def members(request: MemberRequest) -> HttpResponse:
    """The member list; POST invites someone."""
    roles = role_choices(request.member)
    if request.method != "POST":
        return _members_page(request, InviteForm(roles=roles))
    form = InviteForm(request.POST, roles=roles)
    if not form.is_valid():
        return _members_page(request, form, status=422)
    try:
        invitation, _link = do_invite(request.member, form.cleaned_data["email"], form.cleaned_data["role"])
    except ActionError as exc:
        apply_errors(form, exc)
        return _members_page(request, form, status=exc.status)
    messages.success(request, _("An invitation is on its way to %(email)s.") % {"email": invitation.email})
    return redirect("settings_members", request.member.tenant.slug)


def _member_page(
    request: MemberRequest, target: Membership, form: MemberForm, *, error: str = "", status: int = 200
) -> HttpResponse:
    return page(
        request,
        "member.html",
        {
            "section": "settings_members",
            "target": target,
            "form": form,
            "error": error,
            "can_manage": can_manage(request.member, target),
            "is_self": target.pk == request.member.pk,
        },
        status=status,
    )


@settings_view(Role.ADMIN, methods=("GET", "POST"))
def member_detail(request: MemberRequest, member_id: int) -> HttpResponse:
    """One member: role, capacity, languages, email signature; deactivate or reactivate."""
    actor = request.member
    target = access_member(actor, member_id)
    roles = role_choices(actor)
    if not can_manage(actor, target):
        # Shown read-only; the form still lists the member's own role so it renders.
        roles = [(target.role, target.get_role_display())]
    initial = {
        "role": target.role,
        "capacity": target.capacity,
        "languages": target.languages,
        "signature": target.signature,
    }
    if request.method != "POST":
        return _member_page(request, target, MemberForm(initial=initial, roles=roles))
    action = request.POST.get("action", "save")
    form = MemberForm(initial=initial, roles=roles)
    try:
        if action == "deactivate":
            do_update_member(actor, target, {"is_active": False})
            messages.success(
                request, _("%(name)s can no longer sign in to this shop.") % {"name": target.display_name}
            )
        elif action == "reactivate":
            do_update_member(actor, target, {"is_active": True})
            messages.success(request, _("%(name)s is a member again.") % {"name": target.display_name})
        elif action == "save":
            form = MemberForm(request.POST, initial=initial, roles=roles)
            if not form.is_valid():
                return _member_page(request, target, form, status=422)
            data: dict[str, Any] = {
                "capacity": form.cleaned_data["capacity"],
                "languages": form.cleaned_data["languages"],
                "signature": form.cleaned_data["signature"],
            }
            # Only a real change of role goes through the role rules (an admin may edit an
            # owner's languages without "changing" their role).
            if form.cleaned_data["role"] != target.role:
                data["role"] = form.cleaned_data["role"]
            do_update_member(actor, target, data)
            messages.success(request, _("Saved changes to %(name)s.") % {"name": target.display_name})
        else:
            raise Invalid(_("Unknown action."))
    except ActionError as exc:
        if exc.status == 404:
            raise
        target.refresh_from_db()
        if action == "save":
            apply_errors(form, exc)
        return _member_page(
            request, target, form, error="" if action == "save" else exc.message, status=exc.status
        )
    return redirect("settings_member", actor.tenant.slug, target.pk)


@settings_view(Role.ADMIN, methods=("POST",))
def invitation_detail(request: MemberRequest, invitation_id: int) -> HttpResponse:
    """Revoke or resend a pending invitation."""
    invitation = access_invitation(request.member, invitation_id)
    action = request.POST.get("action")
    if action == "revoke":
        if invitation.accepted_at is not None or invitation.revoked_at is not None:
            raise Invalid(_("This invitation is no longer pending."), code="not_pending")
        do_revoke_invitation(request.member, invitation)
        messages.success(request, _("The invitation of %(email)s is revoked.") % {"email": invitation.email})
    elif action == "resend":
        if invitation.accepted_at is not None:
            raise Invalid(_("This invitation was accepted already."), code="not_pending")
        # A new invitation replaces the old one (do_invite revokes it): a fresh link and 7 more days.
        do_invite(request.member, invitation.email, invitation.role)
        messages.success(
            request, _("A new invitation is on its way to %(email)s.") % {"email": invitation.email}
        )
    else:
        raise Invalid(_("Unknown action."))
    return redirect("settings_members", request.member.tenant.slug)
