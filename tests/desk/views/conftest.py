"""Shared pieces of the workspace view tests: signed-in browsers and a conversation to work on."""

from __future__ import annotations

import html
import re

import pytest
from django.test import Client

from frontdesk.desk.models import Conversation, Membership
from tests.factories import PASSWORD, receive


def signed_in(member: Membership) -> Client:
    client = Client()
    assert client.login(email=member.user.email, password=PASSWORD)
    return client


@pytest.fixture
def agent_client(agent: Membership) -> Client:
    return signed_in(agent)


@pytest.fixture
def outsider_client(outsider: Membership) -> Client:
    return signed_in(outsider)


@pytest.fixture
def conversation(api_channel) -> Conversation:  # type: ignore[no-untyped-def]
    """A customer's question through the shop's API channel; replies can go back the same way."""
    return receive(api_channel, "Where is my order 1234?", external_id="cust-7", name="Jan Kowalski")


HTMX = {"HTTP_HX_REQUEST": "true"}


def text_of(response) -> str:  # type: ignore[no-untyped-def]
    """The page as a reader sees it: tags removed, whitespace collapsed."""
    page = response.content.decode()
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page))).strip()
