"""OAuth 2 access tokens for XOAUTH2 sign-in (Gmail, Microsoft 365) from a stored refresh token."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import httpx
from django.conf import settings
from django.core.cache import cache

from ..base import TransportError


class OAuthError(TransportError):
    pass


def access_token(channel: Any) -> str:
    """A fresh access token for the channel, cached until shortly before it expires."""
    config = channel.config
    secrets = channel.secrets
    key = _cache_key(channel, secrets)
    if token := cache.get(key):
        return str(token)
    if not secrets.get("oauth_refresh_token"):
        raise OAuthError(
            "The channel has no OAuth refresh token: sign in again", permanent=True, disable_channel=True
        )
    try:
        response = httpx.post(
            config["oauth_token_url"],
            data={
                "grant_type": "refresh_token",
                "refresh_token": secrets["oauth_refresh_token"],
                "client_id": config.get("oauth_client_id", ""),
                "client_secret": secrets.get("oauth_client_secret", ""),
                # Microsoft requires the scope on refresh; Google accepts it.
                **({"scope": config["oauth_scope"]} if config.get("oauth_scope") else {}),
            },
            timeout=settings.FRONTDESK_DELIVERY_TIMEOUT_SECONDS,
        )
    except httpx.HTTPError as exc:
        raise OAuthError(f"The OAuth token endpoint did not answer: {exc}") from None
    if response.status_code >= 500:
        raise OAuthError(f"The OAuth token endpoint failed: HTTP {response.status_code}")
    if response.status_code != 200:
        raise OAuthError(
            f"The OAuth sign-in was refused: HTTP {response.status_code} {response.text[:200]}",
            permanent=True,
            disable_channel=True,
        )
    data = response.json()
    token = str(data["access_token"])
    cache.set(key, token, max(int(data.get("expires_in", 3600)) - 120, 60))
    return token


def _cache_key(channel: Any, secrets: dict[str, Any]) -> str:
    refresh = hashlib.sha256(str(secrets.get("oauth_refresh_token", "")).encode()).hexdigest()[:16]
    return f"email-oauth:{channel.pk}:{refresh}"


def forget_token(channel: Any) -> None:
    """Drop the cached access token (the server refused it: revoked or expired early)."""
    cache.delete(_cache_key(channel, channel.secrets))


def xoauth2_string(username: str, token: str) -> str:
    """The SASL XOAUTH2 initial response (base64 done by the caller's library where it does it)."""
    return f"user={username}\x01auth=Bearer {token}\x01\x01"


def xoauth2_base64(username: str, token: str) -> str:
    return base64.b64encode(xoauth2_string(username, token).encode()).decode()
