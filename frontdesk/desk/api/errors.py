"""The API's one error shape, and the handlers that turn every failure into it.

Every error the API answers is `desk.errors.ActionError.as_dict()`:
``{"error": {"code": str, "message": str, "fields": {name: [messages]}}}`` (``fields`` only when
particular inputs are at fault). Actions raise ActionError subclasses; ninja's own failures
(validation, unparsable bodies, authentication) and anything unexpected are converted here.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from ninja import Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from pydantic import Field

from ..errors import ActionError, Invalid, NotFound

if TYPE_CHECKING:
    from ninja import NinjaAPI

logger = logging.getLogger("frontdesk.api")

CONTENT_TYPE = "application/json; charset=utf-8"


class MalformedJson(ActionError):
    status = 400
    code = "malformed_json"
    default_message = _("The request body is not valid JSON.")


class Unauthorized(ActionError):
    status = 401
    code = "unauthorized"
    default_message = _("Send a valid API token in the Authorization header: Authorization: Bearer fdk_…")


class MethodNotAllowed(ActionError):
    status = 405
    code = "method_not_allowed"
    default_message = _("This method is not allowed here.")


class BodyTooLarge(ActionError):
    status = 413
    code = "too_large"
    default_message = _("The request body is too large.")


class UnsupportedMediaType(ActionError):
    status = 415
    code = "unsupported_media_type"
    default_message = _("Send the request body as JSON with Content-Type: application/json.")


class ServerError(ActionError):
    status = 500
    code = "server_error"
    default_message = _("Something went wrong on our side. It has been logged; please try again later.")


class ErrorDetail(Schema):
    code: str = Field(
        description="A stable, machine-readable code such as `not_found`, `invalid`, `unknown_field`, "
        "`identity_taken`, `malformed_json`. Program against this, not against the message."
    )
    message: str = Field(description="What went wrong, for people, in the language of Accept-Language.")
    fields: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Present when particular inputs are at fault: input name (dotted for nested "
        "values, e.g. `attachments.0.data`) → messages about it.",
    )


class Error(Schema):
    """Every error response of the API has this shape."""

    error: ErrorDetail = Field(description="What went wrong.")


# What each error status means in this API; used as the response descriptions in the schema.
STATUS_DESCRIPTIONS: dict[int, str] = {
    400: "Bad request: the body is not valid JSON (`malformed_json`), or the request cannot be carried "
    "out as asked.",
    401: "The API token is missing, malformed or revoked (`unauthorized`).",
    403: "The member the token acts as lacks the role for this (`forbidden`).",
    404: "No such object in the token's shop (objects of other shops are reported the same way).",
    405: "The method is not allowed on this path (`method_not_allowed`); see the Allow header.",
    409: "The request conflicts with the current state, e.g. the address belongs to another customer.",
    413: "The request body is larger than the configured limit (`too_large`).",
    415: "The body is not sent as application/json (`unsupported_media_type`).",
    422: "Some inputs are not valid (`invalid`); `fields` names each and says why. Unknown fields are "
    "rejected too.",
    500: "An unexpected error on the server (`server_error`); it is logged.",
}

LIST = (401, 422, 500)
READ = (401, 404, 422, 500)
CREATE = (400, 401, 403, 409, 413, 415, 422, 500)
WRITE = (400, 401, 403, 404, 409, 413, 415, 422, 500)
DELETE = (401, 403, 404, 409, 500)


def responses(ok: dict[int, Any], errors: Iterable[int]) -> dict[int, Any]:
    """The `response=` of an operation: its success responses and the errors it can answer."""
    return {**ok, **dict.fromkeys(sorted(set(errors)), Error)}


def error_response(exc: ActionError) -> HttpResponse:
    response = HttpResponse(json.dumps(exc.as_dict()), status=exc.status, content_type=CONTENT_TYPE)
    if exc.status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="frontdesk"'
    return response


# Pydantic's messages for the common cases, in words people know (and translated).
_MESSAGES = {
    "missing": _("This field is required."),
    "extra_forbidden": _("Unknown field."),
    "timezone_aware": _("Give a time zone, e.g. 2025-05-01T10:00:00Z."),
}


# Pydantic names the member of a union that failed in the error location ("int", "none",
# "literal['me']", "function-before[...]"); callers know fields, not our types.
_TYPE_TAGS = {"int", "str", "bool", "float", "none", "datetime", "date", "list", "dict", "uuid", "bytes"}


def _is_type_tag(part: Any) -> bool:
    return isinstance(part, str) and (not part.isidentifier() or part in _TYPE_TAGS)


def field_path(loc: Iterable[Any]) -> tuple[Any, ...]:
    """An error location without the union member tags pydantic puts into it."""
    return tuple(part for part in loc if not _is_type_tag(part))


def _field_name(loc: Iterable[Any]) -> str:
    parts = [str(p) for p in loc]
    # loc is (source, [body parameter name,] field, ...): callers know fields, not our parameter names.
    if parts and parts[0] == "body":
        parts = parts[2:] if len(parts) > 2 else ["body"]
    elif parts and parts[0] in ("query", "path", "header", "cookie"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def _field_errors(errors: list[dict[str, Any]]) -> dict[str, list[str]]:
    # "Input should be None" from the optional branch of a union says nothing when the field has
    # other complaints: those come first, and the None branch only speaks when nothing else did.
    errors = sorted(errors, key=lambda e: e.get("type") == "none_required")
    fields: dict[str, list[str]] = {}
    for err in errors:
        name = _field_name(err.get("loc", ()))
        if err.get("type") == "none_required" and any(n.split(".")[0] == name.split(".")[0] for n in fields):
            continue
        message = _MESSAGES.get(err.get("type", ""))
        text = str(message) if message else str(err.get("msg", ""))
        # Our own validators raise ValueError("…"): pydantic prefixes "Value error, ".
        text = text.removeprefix("Value error, ")
        if text not in fields.setdefault(name, []):
            fields[name].append(text)
    return fields


def from_validation_error(exc: ValidationError) -> ActionError:
    fields = _field_errors(exc.errors)
    if any(e.get("type") == "extra_forbidden" for e in exc.errors):
        names = ", ".join(n for n, msgs in fields.items() if str(_MESSAGES["extra_forbidden"]) in msgs)
        return Invalid(
            gettext("Unknown fields: %(names)s.") % {"names": names}, code="unknown_field", fields=fields
        )
    return Invalid(fields=fields)


def _on_action_error(request: HttpRequest, exc: ActionError) -> HttpResponse:
    return error_response(exc)


def _on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return error_response(from_validation_error(exc))


def _on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc, AuthenticationError):
        return error_response(Unauthorized())
    cause = exc.__cause__
    if isinstance(cause, ActionError):
        # Raised by our body parser (size, content type) and wrapped by ninja as "cannot parse".
        return error_response(cause)
    if isinstance(cause, RequestDataTooBig):
        return error_response(BodyTooLarge())
    if exc.status_code == 400 and cause is not None:
        detail = str(cause) if isinstance(cause, (json.JSONDecodeError, UnicodeDecodeError)) else ""
        message = gettext("The request body is not valid JSON")
        return error_response(MalformedJson(f"{message}: {detail}." if detail else f"{message}."))
    generic = ActionError(exc.message)
    generic.status = exc.status_code
    return error_response(generic)


def _on_404(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error_response(NotFound())


def _on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("api.unexpected_error", extra={"path": request.path, "method": request.method})
    return error_response(ServerError())


def install_handlers(api: NinjaAPI) -> None:
    handlers: list[tuple[type[Exception], Any]] = [
        (ActionError, _on_action_error),
        (ValidationError, _on_validation_error),
        (HttpError, _on_http_error),
        (Http404, _on_404),
        (Exception, _on_unexpected),
    ]
    for exc_class, handler in handlers:
        api.add_exception_handler(exc_class, handler)
