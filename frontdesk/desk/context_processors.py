from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from .models import Availability, Event


def workspace(request: HttpRequest) -> dict[str, Any]:
    """The current member (set by @member_required) and installation-wide flags for templates."""
    member = getattr(request, "member", None)
    return {
        # The live-update client resumes from here, so nothing between render and connect is missed.
        # A callable: templates evaluate it only where they use it (full pages, not fragments).
        "last_event_id": lambda: _last_event_id(member),
        "member": member,
        "tenant": getattr(member, "tenant", None),
        "signup_enabled": settings.FRONTDESK_SIGNUP_ENABLED,
        "availability_choices": Availability.choices,
    }


def _last_event_id(member: Any) -> int:
    if member is None:
        return 0
    return (
        Event.objects.filter(tenant_id=member.tenant_id).order_by("-id").values_list("id", flat=True).first()
        or 0
    )
