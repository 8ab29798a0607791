"""The search results page: /t/<slug>/search/?q=…&order=best&before=…"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from ..errors import Invalid
from ..search import SearchPage, search_conversations
from .base import member_required

PAGE_SIZE = 25


@member_required
def search(request: HttpRequest) -> HttpResponse:
    """Conversations of the member's shop matching the query, a page at a time: newest first, or
    best match first with `order=best` (anything else is newest first, the default)."""
    member = request.member  # type: ignore[attr-defined]
    query = request.GET.get("q", "")
    order = "best" if request.GET.get("order") == "best" else "newest"
    before = request.GET.get("before") or None
    error = ""
    status = 200
    try:
        page = search_conversations(member.tenant_id, query, limit=PAGE_SIZE, before=before, order=order)
    except Invalid as exc:
        page, error, status = SearchPage(query=query.strip()), exc.message, 400
    context = {
        "search_query": page.query or query.strip()[:200],
        "order": order,
        "page": page,
        "paged": before is not None,
        "error": error,
        "time_zone": member.user.time_zone or member.tenant.time_zone,
    }
    return render(request, "desk/search/results.html", context, status=status)
