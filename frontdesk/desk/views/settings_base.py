"""What the settings pages share: the role gate, error pages, form helpers and the section menu."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from ..errors import ActionError, Forbidden, NotFound
from ..models import Membership, Role
from .base import MemberRequest, member_required
from .workspace import viewer_zone


@dataclass(frozen=True)
class Section:
    url_name: str
    label: Any
    role: str


# The settings menu, in order; each section says the least role that may open it.
SECTIONS = (
    Section("settings", gettext_lazy("Overview"), Role.SUPERVISOR),
    Section("settings_general", gettext_lazy("General"), Role.ADMIN),
    Section("settings_members", gettext_lazy("Members"), Role.ADMIN),
    Section("settings_teams", gettext_lazy("Teams"), Role.SUPERVISOR),
    Section("settings_tags", gettext_lazy("Tags"), Role.SUPERVISOR),
    Section("settings_calendars", gettext_lazy("Business hours"), Role.AGENT),
    Section("settings_sla_policies", gettext_lazy("Response times"), Role.AGENT),
    Section("settings_promise", gettext_lazy("Promise to customers"), Role.AGENT),
    Section("settings_queue", gettext_lazy("Queue and assignment"), Role.AGENT),
    Section("settings_channels", gettext_lazy("Channels"), Role.ADMIN),
    Section("settings_tokens", gettext_lazy("API tokens"), Role.ADMIN),
)


def sections_for(member: Membership) -> list[dict[str, Any]]:
    return [
        {"url_name": s.url_name, "label": s.label, "url": reverse(s.url_name, args=[member.tenant.slug])}
        for s in SECTIONS
        if member.has_role(s.role)
    ]


def error_page(request: HttpRequest, error: ActionError, *, title: str | None = None) -> HttpResponse:
    """A readable page for an error that has no form to show it beside (status = the error's)."""
    return render(
        request,
        "desk/settings/error.html",
        {"nav": "settings", "title": title or _("That did not work"), "error": error},
        status=error.status,
    )


def settings_view(role: str, methods: tuple[str, ...] = ("GET",)) -> Callable[..., Any]:
    """A settings page for `role` and above. Non-members get 404 (member_required), members
    below the role a 403 page; an ActionError the view lets through becomes its error page."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @member_required
        @require_http_methods(list(methods))
        @wraps(view)
        def wrapper(request: MemberRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.member.has_role(role):
                return error_page(
                    request,
                    Forbidden(
                        _("Only an admin of this shop can open this page.")
                        if role in (Role.ADMIN, Role.OWNER)
                        else _("Only supervisors and admins can open this page.")
                    ),
                    title=_("Not allowed"),
                )
            try:
                with timezone.override(viewer_zone(request.member)):
                    return view(request, *args, **kwargs)
            except NotFound:
                raise
            except ActionError as exc:
                return error_page(request, exc)

        return wrapper

    return decorate


def page(
    request: MemberRequest, template: str, context: dict[str, Any], *, status: int = 200
) -> HttpResponse:
    """Render a settings page with the menu and the active section."""
    context = {
        "nav": "settings",
        "sections": sections_for(request.member),
        **context,
    }
    return render(request, f"desk/settings/{template}", context, status=status)


def apply_errors(form: forms.BaseForm, error: ActionError, *, prefix: str = "") -> None:
    """Put an action's field errors beside the form's fields; the rest goes on top of the form.
    The form must have been validated (is_valid) first."""
    if not error.fields:
        form.add_error(None, error.message)
    for key, messages_ in error.fields.items():
        name = key.removeprefix(prefix) if prefix else key
        for message in messages_:
            if name in form.fields:
                form.add_error(name, message)
            else:
                form.add_error(None, f"{name}: {message}")


def role_choices(actor: Membership) -> list[tuple[str, str]]:
    """The roles `actor` may hand out: their own and below."""
    return [(value, str(label)) for value, label in Role.choices if actor.has_role(value)]
