"""Signed per-conversation reply addresses: support+c1234-k7f3q2@shop.example.

Replies from Frontdesk carry such a Reply-To. A customer's answer to it threads into conversation
1234 even when they write from another address or their client drops the In-Reply-To header;
the signature (an HMAC of the tenant and number) keeps anyone from writing into a conversation
by guessing its number.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from django.conf import settings

_TAG = re.compile(r"^c(?P<number>[1-9][0-9]{0,9})-(?P<sig>[a-z2-7]{6})$")


def _signature(tenant_id: int, number: int) -> str:
    key = hashlib.sha256(b"frontdesk-reply-address:" + settings.SECRET_KEY.encode()).digest()
    mac = hmac.new(key, f"{tenant_id}:{number}".encode(), hashlib.sha256).digest()
    return base64.b32encode(mac).decode().lower()[:6]


def reply_address(address: str, tenant_id: int, number: int) -> str:
    """The channel's address with the conversation's signed tag: local+c<number>-<sig>@domain."""
    local, _, domain = address.partition("@")
    local = local.split("+", 1)[0]
    return f"{local}+c{number}-{_signature(tenant_id, number)}@{domain}"


def conversation_from_address(address: str, tenant_id: int) -> int | None:
    """The conversation number in a signed reply address of this tenant, or None."""
    local = address.strip().lower().partition("@")[0]
    if "+" not in local:
        return None
    match = _TAG.match(local.split("+", 1)[1])
    if match is None:
        return None
    number = int(match["number"])
    if not hmac.compare_digest(match["sig"], _signature(tenant_id, number)):
        return None
    return number


def base_address(address: str) -> str:
    """support+anything@shop.example → support@shop.example (for routing and own-address checks)."""
    local, _, domain = address.strip().lower().partition("@")
    return f"{local.split('+', 1)[0]}@{domain}"
