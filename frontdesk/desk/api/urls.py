"""/api/: the versioned API, its docs, and JSON 404s for anything else under /api/."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path, re_path, reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import RedirectView

from ..errors import NotFound
from .app import api
from .errors import error_response


def index(request: HttpRequest) -> HttpResponse:
    """GET /api/v1/: where the schema and the docs are."""
    return JsonResponse(
        {
            "name": api.title,
            "version": api.version,
            "openapi": request.build_absolute_uri(reverse("api:openapi-json")),
            "docs": request.build_absolute_uri(reverse("api:openapi-view")),
        }
    )


@csrf_exempt
def not_found(request: HttpRequest) -> HttpResponse:
    return error_response(NotFound())


urlpatterns = [
    path("v1/", index, name="api-index"),
    path("v1/", api.urls),
    # The offline Swagger UI (ninja's own static files; no CDN).
    path("docs", RedirectView.as_view(pattern_name="api:openapi-view"), name="api-docs"),
    path("docs/", RedirectView.as_view(pattern_name="api:openapi-view")),
    # Anything else under /api/ (any characters, newlines too): the JSON 404, not an HTML page.
    re_path(r"^", not_found),
]
