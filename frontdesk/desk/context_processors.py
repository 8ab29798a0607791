from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def workspace(request: HttpRequest) -> dict[str, Any]:
    """The current member (set by @member_required) and installation-wide flags for templates."""
    return {
        "member": getattr(request, "member", None),
        "tenant": getattr(getattr(request, "member", None), "tenant", None),
        "signup_enabled": settings.FRONTDESK_SIGNUP_ENABLED,
    }
