"""Attachment downloads: only members of the attachment's shop, always as a download."""

from __future__ import annotations

from django.http import FileResponse, HttpRequest, HttpResponseBase
from django.views.decorators.http import require_GET

from ..access import access_attachment
from ..errors import NotFound
from .workspace import workspace_view


@workspace_view
@require_GET
def attachment(request: HttpRequest, token: str) -> HttpResponseBase:
    """Serve the file with the customer's file name (RFC 5987 for non-ASCII) as an attachment.

    Content-Disposition: attachment and nosniff keep a browser from rendering an uploaded HTML or
    SVG file in our origin; the sandbox CSP covers any browser that would render it anyway."""
    found = access_attachment(request.member, token)  # type: ignore[attr-defined]
    try:
        handle = found.file.open("rb")
    except (FileNotFoundError, OSError, ValueError):
        raise NotFound() from None
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=found.filename,
        content_type=found.content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    response["Referrer-Policy"] = "no-referrer"
    return response
