from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render

from ..models import Membership, User


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Straight to the inbox of one's only shop; a chooser when one works for several."""
    user = request.user
    assert isinstance(user, User)  # login_required
    memberships = list(
        Membership.objects.filter(user=user, is_active=True, tenant__is_active=True)
        .select_related("tenant")
        .order_by("tenant__name")
    )
    if len(memberships) == 1:
        return redirect("inbox", slug=memberships[0].tenant.slug)
    return render(request, "desk/choose_tenant.html", {"memberships": memberships})


def healthz(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
