"""The REST API: one NinjaAPI mounted at /api/v1/, one router per resource.

Everything an operation can answer is declared in its `response=`; every error is the one shape of
`desk.errors.ActionError.as_dict()` (see errors.py). Limits on the request itself (size, content
type) are checked before the body is read; the method check answers JSON too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver
from django.utils.translation import gettext
from ninja import NinjaAPI, Swagger
from ninja.errors import ValidationError, ValidationErrorContext
from ninja.parser import Parser

from . import errors
from .auth import TokenAuth

DESCRIPTION = """
The Frontdesk REST API: conversations, their messages (replies and internal notes), customers and
their identities, teams, tags, members and channels of one shop.

**Authentication.** Every request carries an API token of the shop:
`Authorization: Bearer fdk_…`. Admins create tokens in the shop's settings; a token acts as the
member who created it, with that member's role.

**Pagination.** Lists return `{"items": [...], "next_cursor": "…"}`. Pass `next_cursor` back as
`cursor` to get the next page, until it is `null`. `limit` is 1–100 (default 25). Pages are
stable: rows added meanwhile never shift or repeat rows of later pages.

**Errors.** Every error has the same shape:
`{"error": {"code": "invalid", "message": "…", "fields": {"email": ["…"]}}}` — `code` is stable
for programs, `message` is for people, `fields` (when present) names each bad input. Unknown fields
in request bodies are rejected (422, code `unknown_field`). Request bodies are JSON
(`Content-Type: application/json`), at most the configured size. A method not allowed on a path
answers 405 in this shape with an `Allow` header.

**Time.** Times are ISO 8601 with a time zone (`2025-05-01T10:00:00Z`); in query strings encode
`+` as `%2B`.
"""

BODY_METHODS = ("POST", "PUT", "PATCH")


class JsonParser(Parser):
    """JSON bodies only; size enforced even when the client sent no Content-Length."""

    def parse_body(self, request: HttpRequest) -> Any:
        body = request.body
        if len(body) > settings.FRONTDESK_MAX_BODY_BYTES:
            raise _too_large()
        return json.loads(body)


def _too_large() -> errors.BodyTooLarge:
    return errors.BodyTooLarge(
        gettext("The request body is larger than the limit of %(n)d bytes.")
        % {"n": settings.FRONTDESK_MAX_BODY_BYTES}
    )


def _is_json(content_type: str) -> bool:
    return content_type == "application/json" or (
        content_type.startswith("application/") and content_type.endswith("+json")
    )


def _guard(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Reject oversized and non-JSON bodies before they are read; answer 405 in the error shape."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method in BODY_METHODS:
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > settings.FRONTDESK_MAX_BODY_BYTES:
                return errors.error_response(_too_large())
            if length > 0 and not _is_json(request.content_type or ""):
                return errors.error_response(errors.UnsupportedMediaType())
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and not response.get("Content-Type", "").startswith(
            "application/json"
        ):
            allow = response.get("Allow", "")
            response = errors.error_response(errors.MethodNotAllowed())
            response["Allow"] = allow
        return response

    wrapper.csrf_exempt = True  # type: ignore[attr-defined]  # token auth, no cookies
    return wrapper


class FrontdeskAPI(NinjaAPI):
    def _get_urls(self) -> list[URLResolver | URLPattern]:
        urls = super()._get_urls()
        for pattern in urls:
            if isinstance(pattern, URLPattern) and pattern.name not in ("openapi-json", "openapi-view"):
                pattern.callback = _guard(pattern.callback)
        return urls

    def validation_error_from_error_contexts(
        self, error_contexts: list[ValidationErrorContext]
    ) -> ValidationError:
        """Like ninja's, but locations name fields only (no union member tags), so query parameters
        are reported by their own names."""
        result: list[dict[str, Any]] = []
        for context in error_contexts:
            model = context.model
            reverse: dict[tuple[Any, ...], tuple[Any, ...]] = model.__ninja_flatten_map_reverse__
            for err in context.pydantic_validation_error.errors(include_url=False, include_input=False):
                loc = errors.field_path(err["loc"])
                for n in range(len(loc), 0, -1):
                    if loc[:n] in reverse:
                        loc = reverse[loc[:n]] + loc[n:]
                        break
                result.append(
                    {"loc": (model.__ninja_param_source__, *loc), "msg": err["msg"], "type": err["type"]}
                )
        return ValidationError(result)

    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(*args, **kwargs)
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                for status, response in operation.get("responses", {}).items():
                    if int(status) in errors.STATUS_DESCRIPTIONS:
                        response["description"] = errors.STATUS_DESCRIPTIONS[int(status)]
        return schema


api = FrontdeskAPI(
    title="Frontdesk API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    auth=TokenAuth(),
    parser=JsonParser(),
    # Served from our own static files (no CDN); no call to the public schema validator either.
    docs=Swagger(settings={"validatorUrl": None, "persistAuthorization": True}),
)
errors.install_handlers(api)

api.add_router("/conversations", "frontdesk.desk.api.conversations.router")
api.add_router("/conversations", "frontdesk.desk.api.messages.router")
api.add_router("/customers", "frontdesk.desk.api.customers.router")
api.add_router("/teams", "frontdesk.desk.api.teams.router")
api.add_router("/tags", "frontdesk.desk.api.tags.router")
api.add_router("/members", "frontdesk.desk.api.members.router")
api.add_router("/channels", "frontdesk.desk.api.channels.router")
