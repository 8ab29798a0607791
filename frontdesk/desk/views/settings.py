"""Settings of a shop: the overview with the set-up checklist, and the general settings."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from ..actions.admin import do_update_tenant
from ..errors import ActionError
from ..models import Channel, Event, Invitation, Membership, Role
from .base import MemberRequest
from .settings_base import apply_errors, page, settings_view
from .settings_forms import GeneralForm


@dataclass(frozen=True)
class ChecklistItem:
    title: str
    text: str
    done: bool
    url: str
    # Whether the viewer may do it; supervisors see the list but cannot tick admin items.
    allowed: bool


def checklist(member: Membership) -> list[ChecklistItem]:
    """The first steps of a new shop, each ticked once it is done."""
    tenant = member.tenant
    slug = tenant.slug
    is_admin = member.has_role(Role.ADMIN)
    return [
        ChecklistItem(
            _("Add a channel"),
            _("Connect a way customers reach you: your shop's systems through the API, or a contact form."),
            Channel.objects.filter(tenant=tenant).exists(),
            reverse("settings_channels", args=[slug]),
            is_admin,
        ),
        ChecklistItem(
            _("Invite your team"),
            _("Invite the people who answer customers, with their roles."),
            Membership.objects.filter(tenant=tenant).count() > 1
            or Invitation.objects.filter(tenant=tenant).exists(),
            reverse("settings_members", args=[slug]),
            is_admin,
        ),
        ChecklistItem(
            _("Check your business details"),
            _("Shop name, time zone, languages and country: due times and holidays depend on them."),
            Event.objects.filter(tenant=tenant, kind="tenant.updated").exists(),
            reverse("settings_general", args=[slug]),
            is_admin,
        ),
    ]


@settings_view(Role.SUPERVISOR)
def home(request: MemberRequest) -> HttpResponse:
    items = checklist(request.member)
    done = sum(item.done for item in items)
    return page(
        request,
        "home.html",
        {"section": "settings", "checklist": items, "done": done, "total": len(items)},
    )


@settings_view(Role.ADMIN, methods=("GET", "POST"))
def general(request: MemberRequest) -> HttpResponse:
    tenant = request.member.tenant
    options = {"languages": tenant.languages, "time_zone": tenant.time_zone}
    if request.method == "POST":
        form = GeneralForm(request.POST, **options)
        if form.is_valid():
            try:
                do_update_tenant(request.member, form.settings_data())
            except ActionError as exc:
                apply_errors(form, exc)
                return page(
                    request, "general.html", {"section": "settings_general", "form": form}, status=exc.status
                )
            messages.success(request, _("The shop's settings are saved."))
            return redirect("settings_general", tenant.slug)
        return page(request, "general.html", {"section": "settings_general", "form": form}, status=422)
    form = GeneralForm(
        initial={
            "name": tenant.name,
            "time_zone": tenant.time_zone,
            "languages": tenant.languages,
            "default_language": tenant.default_language,
            "country": tenant.country,
            "reopen_closed": tenant.reopen_closed,
        },
        **options,
    )
    return page(request, "general.html", {"section": "settings_general", "form": form})
