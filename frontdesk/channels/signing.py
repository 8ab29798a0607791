"""HMAC signatures for our own webhooks, both ways (the API channel, outbound event webhooks).

Header: `X-Frontdesk-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
The timestamp is signed too, so a captured request cannot be replayed after `tolerance` seconds;
within that window the idempotency key makes a replay a no-op. Several v1= values may be present
while a secret is being rotated.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from django.utils.translation import gettext

SIGNATURE_HEADER = "X-Frontdesk-Signature"
DEFAULT_TOLERANCE = 300


class SignatureError(ValueError):
    pass


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify(
    secret: str, body: bytes, header: str, *, tolerance: int = DEFAULT_TOLERANCE, now: float | None = None
) -> None:
    """Raise SignatureError unless `header` is a valid, fresh signature of `body` with `secret`."""
    if not header:
        raise SignatureError(gettext("The %(header)s header is missing") % {"header": SIGNATURE_HEADER})
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        t = int(parts["t"][0])
    except (KeyError, ValueError):
        raise SignatureError(gettext("The signature has no valid timestamp (t=)")) from None
    now = time.time() if now is None else now
    if abs(now - t) > tolerance:
        raise SignatureError(gettext("The signature timestamp is too old or in the future"))
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, candidate) for candidate in parts.get("v1", [])):
        raise SignatureError(gettext("The signature does not match the body"))
