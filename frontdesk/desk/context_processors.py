from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from .models import Availability


def workspace(request: HttpRequest) -> dict[str, Any]:
    """The current member (set by @member_required) and installation-wide flags for templates."""
    member = getattr(request, "member", None)
    return {
        "member": member,
        "tenant": getattr(member, "tenant", None),
        "signup_enabled": settings.FRONTDESK_SIGNUP_ENABLED,
        "availability_choices": Availability.choices,
    }
