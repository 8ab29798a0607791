"""What the chat tests share: a chat channel on the shop's site, and a visitor's browser that talks
to the widget endpoints the way widget.js does (Origin header, visitor token header)."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from typing import Any

import pytest
from django.test import Client

from tests.factories import ChannelFactory

SHOP_ORIGIN = "https://rowery.example"


@pytest.fixture
def chat_channel(tenant):  # type: ignore[no-untyped-def]
    return ChannelFactory(
        tenant=tenant,
        kind="chat",
        name="Chat on the site",
        config={"allowed_origins": [SHOP_ORIGIN], "greeting": {"pl": "Cześć!", "en": "Hello!"}},
    )


def sign_user(channel: Any, value: str) -> str:
    """What the shop's server computes for its logged-in customer (identity verification)."""
    secret = channel.secrets["identity_secret"]
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()


class Browser:
    """One visitor's browser on the shop's site."""

    def __init__(self, channel: Any, origin: str = SHOP_ORIGIN) -> None:
        self.channel = channel
        self.origin = origin
        self.client = Client(HTTP_ORIGIN=origin)
        self.token: str | None = None
        self.session: dict[str, Any] = {}

    def url(self, name: str) -> str:
        return f"/chat/{self.channel.public_id}/{name}"

    def headers(self) -> dict[str, str]:
        return {"HTTP_X_FRONTDESK_VISITOR": self.token} if self.token else {}

    def start(self, **body: Any) -> Any:
        body.setdefault("page", {"url": f"{self.origin}/rowery/gravel", "title": "Gravel bikes"})
        if self.token and "token" not in body:
            body["token"] = self.token
        response = self.client.post(self.url("session"), json.dumps(body), content_type="application/json")
        if response.status_code == 200:
            self.session = response.json()
            self.token = self.session["token"]
        return response

    def post(self, name: str, body: dict[str, Any]) -> Any:
        return self.client.post(
            self.url(name), json.dumps(body), content_type="application/json", **self.headers()
        )

    def say(self, text: str, client_id: str | None = None, **extra: Any) -> Any:
        return self.post("messages", {"client_id": client_id or uuid.uuid4().hex, "text": text, **extra})

    def messages(self, after: int = 0) -> list[dict[str, Any]]:
        response = self.client.get(self.url("messages"), {"after": after}, **self.headers())
        assert response.status_code == 200, response.content
        return response.json()["messages"]


@pytest.fixture
def browser(chat_channel):  # type: ignore[no-untyped-def]
    visitor = Browser(chat_channel)
    assert visitor.start().status_code == 200
    return visitor


# --- Shared by the HTTP, routing and hand-over tests ------------------------------------------------


def upload(
    browser: Browser, name: str, data: bytes, content_type: str, client_id: str | None = None, **fields: Any
) -> Any:
    """The widget sending a file (multipart, as FormData does)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    body = {"file": SimpleUploadedFile(name, data, content_type=content_type)}
    body.update({"client_id": client_id or uuid.uuid4().hex, **fields})
    return browser.client.post(browser.url("files"), body, **browser.headers())


def visitor_of(browser: Browser) -> Any:
    from frontdesk.desk.models import ChatVisitor

    return ChatVisitor.objects.select_related("customer").get(public_id=browser.session["visitor"])


def left_the_site(browser: Browser, minutes: int = 2) -> None:
    """The visitor closed the tab: their widget stopped sending heartbeats `minutes` ago."""
    import datetime as dt

    from django.utils import timezone

    from frontdesk.desk.models import ChatVisitor

    ChatVisitor.objects.filter(public_id=browser.session["visitor"]).update(
        last_seen_at=timezone.now() - dt.timedelta(minutes=minutes)
    )


@pytest.fixture
def email_channel(tenant):  # type: ignore[no-untyped-def]
    """The shop's mailbox (sending through the installation's mail server)."""
    return ChannelFactory(
        tenant=tenant,
        kind="email",
        name="Support mailbox",
        config={"address": "support@rowery.example"},
        inbound_address="support@rowery.example",
    )
