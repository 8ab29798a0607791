"""Scaled out: a visitor's widget on one web process and an agent on another chat both ways."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from websockets.sync.client import connect

from frontdesk.desk.actions.admin import do_create_api_token
from frontdesk.desk.models import Role
from tests.factories import ChannelFactory, MembershipFactory

from .conftest import json_frames, login_cookie, requires_postgres_and_redis

pytestmark = [pytest.mark.scaled, requires_postgres_and_redis]

SHOP = "https://rowery.example"


def test_a_visitor_on_one_server_and_an_agent_on_the_other_chat_both_ways(cluster, agent):
    channel = ChannelFactory(tenant=agent.tenant, kind="chat", config={"allowed_origins": [SHOP]})
    admin = MembershipFactory(tenant=agent.tenant, role=Role.ADMIN, availability="offline")
    _token, api_key = do_create_api_token(admin, "bench")
    one, two = cluster.servers(2)

    session = httpx.post(
        f"{two.url}/chat/{channel.public_id}/session", json={}, headers={"Origin": SHOP}, timeout=10
    ).json()
    with (
        connect(
            f"ws://127.0.0.1:{one.port}/ws/t/{agent.tenant.slug}/",
            additional_headers={"Cookie": login_cookie(agent), "Origin": one.url},
            open_timeout=10,
        ) as agent_page,
        connect(
            f"ws://127.0.0.1:{two.port}/ws/chat/{channel.public_id}/",
            additional_headers={"Origin": SHOP},
            open_timeout=10,
        ) as widget,
    ):
        json_frames(
            agent_page, timeout=10, until=lambda f: f["type"] == "hello", what="hello", details=cluster.logs
        )
        widget.send(json.dumps({"type": "hello", "token": session["token"], "after": 0}))
        json_frames(
            widget, timeout=10, until=lambda f: f["type"] == "welcome", what="welcome", details=cluster.logs
        )

        client_id = uuid.uuid4().hex
        widget.send(json.dumps({"type": "message", "client_id": client_id, "text": "Czy jest ktoś?"}))
        ack = json_frames(
            widget, timeout=10, until=lambda f: f["type"] == "ack", what="ack", details=cluster.logs
        )
        sent = ack[-1]["message"]
        created = json_frames(
            agent_page,
            timeout=10,
            until=lambda f: f["type"] == "event" and f["event"]["kind"] == "message.created",
            what="the visitor's message on the agent's server",
            details=cluster.logs,
        )[-1]["event"]
        assert created["data"]["message"] == sent["id"]

        answer = httpx.post(
            f"{one.url}/api/v1/conversations/{sent['conversation']}/replies",
            json={"text": "Tak, słucham!"},
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=10,
        )
        assert answer.status_code == 201, answer.text
        pushed = json_frames(
            widget,
            timeout=10,
            until=lambda f: f["type"] == "message" and f["message"]["from"] == "agent",
            what="the agent's answer on the visitor's server",
            details=cluster.logs,
        )[-1]["message"]
        assert pushed["text"] == "Tak, słucham!"
