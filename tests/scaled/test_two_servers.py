"""Scaled out: a message posted to one web process reaches an agent whose page is on another."""

from __future__ import annotations

import json

import httpx
import pytest
import redis
from websockets.sync.client import connect

from frontdesk.channels.signing import SIGNATURE_HEADER, sign
from frontdesk.desk.actions.conversations import do_reply
from tests.factories import ChannelFactory, receive

from .conftest import REDIS_URL, json_frames, login_cookie, requires_postgres_and_redis, wait_for

pytestmark = [pytest.mark.scaled, requires_postgres_and_redis]


def _wait_until_subscribed(cluster, tenant_id: int) -> None:  # type: ignore[no-untyped-def]
    """The page's server has subscribed to the shop's group in Redis (so a publish now reaches it)."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        wait_for(
            lambda: client.pubsub_channels(f"{cluster.prefix}*__group__tenant.{tenant_id}"),
            timeout=10,
            what="the server to subscribe to the shop's group",
            details=cluster.logs,
        )
    finally:
        client.close()


def test_a_message_posted_to_one_server_reaches_an_agent_connected_to_the_other(cluster, agent):
    channel = ChannelFactory(tenant=agent.tenant, kind="api", name="Shop backend")
    one, two = cluster.servers(2)
    cookie = login_cookie(agent)

    with connect(
        f"ws://127.0.0.1:{two.port}/ws/t/{agent.tenant.slug}/",
        additional_headers={"Cookie": cookie, "Origin": two.url},
        open_timeout=10,
    ) as ws:
        hello = json_frames(
            ws, timeout=10, until=lambda f: f["type"] == "hello", what="the hello", details=cluster.logs
        )[-1]
        assert hello["member"] == agent.pk
        _wait_until_subscribed(cluster, agent.tenant_id)

        body = json.dumps(
            {
                "idempotency_key": "order-1234-question",
                "customer": {"external_id": "cust-77", "name": "Jan Kowalski", "email": "jan@example.org"},
                "text": "Gdzie jest moja paczka?",
            }
        ).encode()
        answer = httpx.post(
            f"{one.url}/hooks/{channel.public_id}/",
            content=body,
            headers={
                "Content-Type": "application/json",
                SIGNATURE_HEADER: sign(channel.secrets["signing_secret"], body),
            },
            timeout=10,
        )
        assert answer.status_code == 201, answer.text
        number = answer.json()["conversation"]

        frames = json_frames(
            ws,
            timeout=10,
            until=lambda f: f["type"] == "event" and f["event"]["kind"] == "message.created",
            what="the new message on server 2",
            details=cluster.logs,
        )
        event = frames[-1]["event"]
        assert event["conversation"] == number
        assert event["data"]["message"] == answer.json()["message"]


def test_a_reply_sent_by_a_worker_process_shows_as_sent_on_an_agents_page(cluster, agent, shop):
    channel = ChannelFactory(tenant=agent.tenant, kind="api", config={"webhook_url": shop.url})
    conversation = receive(channel, "Where is my order?", external_id="cust-7")
    [web] = cluster.servers(1)
    cluster.worker()

    with connect(
        f"ws://127.0.0.1:{web.port}/ws/t/{agent.tenant.slug}/",
        additional_headers={"Cookie": login_cookie(agent), "Origin": web.url},
        open_timeout=10,
    ) as ws:
        json_frames(
            ws, timeout=10, until=lambda f: f["type"] == "hello", what="the hello", details=cluster.logs
        )
        _wait_until_subscribed(cluster, agent.tenant_id)

        message = do_reply(agent, conversation, "It ships today.")

        frames = json_frames(
            ws,
            timeout=30,
            until=lambda f: (
                f["type"] == "event"
                and f["event"]["kind"] == "message.delivery_changed"
                and f["event"]["data"]["state"] == "sent"
            ),
            what="the delivery to show as sent",
            details=cluster.logs,
        )
        assert frames[-1]["event"]["data"]["message"] == message.pk
        assert frames[-1]["event"]["conversation"] == conversation.number
