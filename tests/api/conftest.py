"""What the API tests share: tokens of the shop's members and a client that speaks JSON with one."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from frontdesk.desk.actions.admin import do_create_api_token
from frontdesk.desk.models import Membership, Role
from tests.factories import ChannelFactory

PREFIX = "/api/v1"


class Api:
    """The Django test client with an API token, JSON bodies and paths relative to /api/v1."""

    def __init__(self, client: Client, token: str | None) -> None:
        self.client = client
        self.token = token

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {**headers, **(extra or {})}

    def get(self, path: str, params: dict[str, Any] | None = None, **kw: Any) -> Any:
        return self.client.get(
            PREFIX + path, params or {}, headers=self._headers(kw.pop("headers", None)), **kw
        )

    def _send(self, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        data = body if isinstance(body, (bytes, str)) else (json.dumps(body) if body is not None else "")
        content_type = kw.pop("content_type", "application/json")
        send = getattr(self.client, method)
        return send(
            PREFIX + path,
            data,
            content_type=content_type,
            headers=self._headers(kw.pop("headers", None)),
            **kw,
        )

    def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self._send("post", path, body, **kw)

    def patch(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self._send("patch", path, body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self._send("put", path, body, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.client.delete(PREFIX + path, headers=self._headers(kw.pop("headers", None)), **kw)

    def walk(self, path: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every item of a list, following next_cursor page by page."""
        items: list[dict[str, Any]] = []
        params = dict(params or {})
        while True:
            response = self.get(path, params)
            assert response.status_code == 200, response.content
            page = response.json()
            items += page["items"]
            if not page["next_cursor"]:
                return items
            params["cursor"] = page["next_cursor"]


def token_for(member: Membership) -> str:
    """A live API token acting as `member`.

    Admins create tokens for themselves through the action; a token of a lower role exists when its
    creator was demoted later, which is what we model for agents here.
    """
    if member.has_role(Role.ADMIN):
        return do_create_api_token(member, "Tests")[1]
    role, member.role = member.role, Role.ADMIN  # only in memory: the stored role stays
    try:
        return do_create_api_token(member, "Tests")[1]
    finally:
        member.role = role


@pytest.fixture
def owner_api(client: Client, owner: Membership) -> Api:
    return Api(client, token_for(owner))


@pytest.fixture
def agent_api(agent: Membership) -> Api:
    return Api(Client(), token_for(agent))


@pytest.fixture
def outsider_api(outsider: Membership) -> Api:
    """A token of another shop: must see nothing of `tenant`."""
    return Api(Client(), token_for(outsider))


@pytest.fixture
def anonymous_api(client: Client) -> Api:
    return Api(client, None)


@pytest.fixture
def form_channel(tenant):  # type: ignore[no-untyped-def]
    """A contact form: every message opens a new conversation, replies go out by email."""
    return ChannelFactory(tenant=tenant, kind="form", name="Contact form")


def error_of(response: Any) -> dict[str, Any]:
    """The error body, after checking it has the one error shape."""
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"code", "message"} <= set(body["error"]) <= {"code", "message", "fields"}, body
    assert body["error"]["message"]
    return body["error"]
