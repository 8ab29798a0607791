"""The search results page: /t/<slug>/search/?q=…&before=…"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from ..errors import Invalid
from ..search import SearchPage, search_conversations
from .base import member_required

PAGE_SIZE = 25


@member_required
def search(request: HttpRequest) -> HttpResponse:
    """Conversations of the member's shop matching the query, newest first, a page at a time."""
    member = request.member  # type: ignore[attr-defined]
    query = request.GET.get("q", "")
    before = request.GET.get("before") or None
    error = ""
    status = 200
    try:
        page = search_conversations(member.tenant_id, query, limit=PAGE_SIZE, before=before)
    except Invalid as exc:
        page, error, status = SearchPage(query=query.strip()), exc.message, 400
    context = {
        "search_query": page.query or query.strip()[:200],
        "page": page,
        "paged": before is not None,
        "error": error,
        "time_zone": member.user.time_zone or member.tenant.time_zone,
    }
    return render(request, "desk/search/results.html", context, status=status)
