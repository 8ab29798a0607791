"""API tokens: `Authorization: Bearer fdk_…`. A token belongs to one shop and acts as one member."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer

from ..actions.admin import authenticate_api_token
from ..models import ApiToken, Membership


class TokenAuth(HttpBearer):
    """Bearer token auth. Missing, unknown, revoked tokens (or a deactivated member) give 401."""

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        token = token.strip()
        if not token or len(token) > 200:
            return None
        return authenticate_api_token(token)


def member_of(request: HttpRequest | Any) -> Membership:
    """The member the request's token acts as; its tenant scopes everything the request touches."""
    token: ApiToken = getattr(request, "auth")  # noqa: B009 - set by ninja after TokenAuth
    return token.member
