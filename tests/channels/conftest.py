"""What the channel tests share: channels with their secrets, and a shop backend that signs posts."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.test import Client

from frontdesk.channels.signing import SIGNATURE_HEADER, sign
from tests.factories import ChannelFactory


@pytest.fixture
def shop_api(tenant):  # type: ignore[no-untyped-def]
    """An API channel as an admin creates it: with its signing secret."""
    channel = ChannelFactory(tenant=tenant, kind="api", name="Shop backend")
    channel.secrets = channel.adapter.generate_secrets()
    channel.save()
    return channel


class ShopBackend:
    """The shop's own system posting customer messages to its API channel."""

    def __init__(self, client: Client, channel: Any) -> None:
        self.client = client
        self.channel = channel

    @property
    def url(self) -> str:
        return f"/hooks/{self.channel.public_id}/"

    def post(
        self,
        body: dict[str, Any] | bytes,
        *,
        secret: str | None = None,
        timestamp: int | None = None,
        content_type: str = "application/json",
        signed: bool = True,
        headers: dict[str, str] | None = None,
        url: str | None = None,
    ) -> Any:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        all_headers = dict(headers or {})
        if signed:
            key = secret if secret is not None else self.channel.secrets["signing_secret"]
            all_headers[SIGNATURE_HEADER] = sign(key, raw, timestamp or int(time.time()))
        return self.client.post(url or self.url, raw, content_type=content_type, headers=all_headers)


@pytest.fixture
def backend(client, shop_api) -> ShopBackend:  # type: ignore[no-untyped-def]
    return ShopBackend(client, shop_api)


def message(
    key: str = "order-1001-msg-1", text: str = "Gdzie jest moja paczka?", **extra: Any
) -> dict[str, Any]:
    """A customer message as the shop's backend posts it."""
    body: dict[str, Any] = {
        "idempotency_key": key,
        "customer": {"external_id": "cust-7", "email": "jan@example.org", "name": "Jan Kowalski"},
        "text": text,
    }
    body.update(extra)
    return body
