"""What every workspace view shares: the member lookup (404 outside one's tenants) and errors."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse

from ..access import membership_for
from ..errors import NotFound
from ..models import Membership


class MemberRequest(HttpRequest):
    member: Membership


def member_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Resolve `slug` to the signed-in user's membership; anyone else gets 404, never 403."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, slug: str, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            request.member = membership_for(request.user, slug)  # type: ignore[attr-defined]
        except NotFound:
            raise Http404 from None
        try:
            return view(request, *args, **kwargs)
        except NotFound:
            raise Http404 from None

    return wrapper
