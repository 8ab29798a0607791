"""The member's own availability (online, away, offline), from the user menu on every page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ..actions.admin import do_update_member
from ..errors import ActionError, NotFound
from .conversation import error_text
from .workspace import safe_next, workspace_view


@workspace_view
@require_POST
def availability(request: HttpRequest) -> HttpResponse:
    member = request.member  # type: ignore[attr-defined]
    back = safe_next(request, reverse("inbox", args=[member.tenant.slug]))
    try:
        do_update_member(member, member, {"availability": request.POST.get("availability", "")})
    except NotFound:
        raise
    except ActionError as exc:
        response = render(
            request,
            "desk/inbox/error.html",
            {"error_title": _("Availability not changed"), "error": error_text(exc), "back_url": back},
        )
        response.status_code = exc.status
        return response
    return HttpResponseRedirect(back)
