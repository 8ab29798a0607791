"""The one error type of actions. Views and the API turn it into a page or the JSON error shape."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _


class ActionError(Exception):
    status = 400
    code = "bad_request"

    def __init__(
        self, message: Any = None, *, code: str | None = None, fields: dict[str, list[str]] | None = None
    ):
        self.message = str(message) if message is not None else str(self.default_message)
        if code:
            self.code = code
        self.fields = fields or {}
        super().__init__(self.message)

    default_message: Any = _("The request could not be carried out.")

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fields:
            body["fields"] = self.fields
        return {"error": body}


class NotFound(ActionError):
    """Not there, or not the caller's to see: both look the same from outside a tenant."""

    status = 404
    code = "not_found"
    default_message = _("Not found.")


class Forbidden(ActionError):
    status = 403
    code = "forbidden"
    default_message = _("Your role does not allow this.")


class Invalid(ActionError):
    status = 422
    code = "invalid"
    default_message = _("Some values are not valid.")


class Conflict(ActionError):
    status = 409
    code = "conflict"
    default_message = _("This conflicts with the current state.")
