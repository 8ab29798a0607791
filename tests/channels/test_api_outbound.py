"""The API channel, outbound: agents' replies reach the shop's endpoint as signed webhooks, with retries."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from frontdesk.channels import safehttp
from frontdesk.channels.api.adapter import Config
from frontdesk.channels.signing import SignatureError, verify
from frontdesk.desk.actions.conversations import do_reply
from frontdesk.desk.models import Channel, DeliveryState, DeliveryStatus
from frontdesk.desk.worker.runner import run_ready_tasks
from tests.channels.conftest import message

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def conversation(backend, shop, settings):  # type: ignore[no-untyped-def]
    """A customer wrote through the API channel, whose replies go to the shop's endpoint."""
    settings.FRONTDESK_DELIVERY_BACKOFF_SECONDS = 0.0
    backend.channel.config = {"webhook_url": f"{shop.url}/frontdesk/replies"}
    backend.channel.save(update_fields=["config"])
    number = backend.post(message(text="Where is my order?", thread_id="order-1001")).json()["conversation"]
    return backend.channel.conversations.get(number=number)


def test_a_reply_reaches_the_shop_signed_with_the_channels_secret(conversation, agent, shop):
    reply = do_reply(agent, conversation, "It ships today.")

    run_ready_tasks()

    [call] = shop.posts
    verify(backend_secret(conversation), call.body, call.headers["x-frontdesk-signature"])
    assert call.path == "/frontdesk/replies"
    assert call.headers["content-type"] == "application/json"
    delivery = reply.deliveries.get()
    assert call.headers["x-frontdesk-delivery"] == str(delivery.pk)
    body = call.json()
    assert body["type"] == "message.created"
    assert body["message"]["text"] == "It ships today."
    assert body["message"]["author"] == "Anna Agent"
    assert body["conversation"] == {
        "number": conversation.number,
        "subject": "Where is my order?",
        "thread_id": "order-1001",
    }
    assert body["customer"]["external_id"] == "cust-7"
    reply.refresh_from_db()
    assert reply.delivery_state == DeliveryState.SENT
    assert reply.provider_id == f"shop-{delivery.pk}"


def test_a_signature_with_another_secret_does_not_verify(conversation, agent, shop):
    do_reply(agent, conversation, "Hello")
    run_ready_tasks()

    [call] = shop.posts
    with pytest.raises(SignatureError):
        verify("whsec_someone_else", call.body, call.headers["x-frontdesk-signature"])


def test_a_503_is_retried_with_the_same_delivery_id_until_it_succeeds(conversation, agent, shop):
    shop.answers = [(503, {}), (503, {}), (200, {})]
    reply = do_reply(agent, conversation, "Hello")

    run_ready_tasks()

    delivery = reply.deliveries.get()
    assert delivery.status == DeliveryStatus.SENT
    assert [a.ok for a in delivery.attempt_log.all()] == [False, False, True]
    assert {c.headers["x-frontdesk-delivery"] for c in shop.posts} == {str(delivery.pk)}
    assert len({c.headers["idempotency-key"] for c in shop.posts}) == 1


@pytest.mark.parametrize("status", [408, 425, 429, 500, 502])
def test_answers_meaning_not_now_are_transient(conversation, agent, shop, status):
    shop.answers = [(status, {})]
    reply = do_reply(agent, conversation, "Hello")

    run_ready_tasks()

    assert reply.deliveries.get().status == DeliveryStatus.SENT
    assert len(shop.posts) == 2


def test_a_retry_after_from_the_shop_delays_the_next_attempt(conversation, agent, shop):
    shop.answers = [(429, {"Retry-After": "120"})]
    reply = do_reply(agent, conversation, "Hello")

    run_ready_tasks()

    delivery = reply.deliveries.get()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.next_attempt_at >= timezone.now() + dt.timedelta(seconds=100)
    assert "HTTP 429" in delivery.last_error


def test_a_400_is_a_permanent_failure_visible_on_the_message(conversation, agent, shop):
    shop.answers = [(400, {})]
    reply = do_reply(agent, conversation, "Hello")

    run_ready_tasks()

    reply.refresh_from_db()
    assert reply.delivery_state == DeliveryState.FAILED
    assert "HTTP 400" in reply.delivery_error
    assert len(shop.posts) == 1


def test_a_410_fails_the_reply_and_marks_the_channel(conversation, agent, shop):
    shop.answers = [(410, {})]
    reply = do_reply(agent, conversation, "Hello")

    run_ready_tasks()

    reply.refresh_from_db()
    assert reply.delivery_state == DeliveryState.FAILED
    channel = Channel.objects.get(pk=conversation.channel_id)
    assert "gone" in channel.last_error
    assert channel.last_error_at is not None


def test_an_endpoint_that_does_not_answer_is_retried(conversation, agent, shop, settings):
    shop.stop()
    reply = do_reply(agent, conversation, "Hello")

    run_ready_tasks(limit=1)

    delivery = reply.deliveries.get()
    assert delivery.status == DeliveryStatus.PENDING
    assert "Could not reach" in delivery.last_error


def test_the_same_shop_id_for_two_replies_does_not_break_sending(conversation, agent, shop):
    first = do_reply(agent, conversation, "One")
    second = do_reply(agent, conversation, "Two")

    run_ready_tasks()

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.delivery_state, second.delivery_state) == (DeliveryState.SENT, DeliveryState.SENT)
    assert first.provider_id != second.provider_id


def test_a_webhook_address_in_a_private_network_is_refused_in_production(conversation, agent, settings):
    settings.DEBUG = False
    settings.FRONTDESK_WEBHOOK_ALLOW_LOOPBACK = False
    reply = do_reply(agent, conversation, "Hello")

    run_ready_tasks()

    reply.refresh_from_db()
    assert reply.delivery_state == DeliveryState.FAILED
    assert "webhook address is refused" in reply.delivery_error
    assert reply.deliveries.get().attempts == 1
    assert Channel.objects.get(pk=conversation.channel_id).last_error


@pytest.mark.parametrize(
    "url",
    [
        "http://shop.example/hook",
        "https://10.0.0.5/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://127.0.0.1/hook",
        "https://user:pass@shop.example/hook",
        "ftp://shop.example/hook",
    ],
)
def test_the_webhook_address_setting_refuses_unsafe_addresses(url, settings):
    settings.DEBUG = False
    settings.FRONTDESK_WEBHOOK_ALLOW_LOOPBACK = False

    with pytest.raises(ValueError):
        Config(webhook_url=url)


def test_a_public_https_address_is_accepted(settings):
    settings.FRONTDESK_WEBHOOK_ALLOW_LOOPBACK = False

    assert Config(webhook_url=" https://shop.example/hooks/frontdesk ").webhook_url == (
        "https://shop.example/hooks/frontdesk"
    )


def test_loopback_is_refused_when_connecting_in_production(settings):
    settings.DEBUG = False
    settings.FRONTDESK_WEBHOOK_ALLOW_LOOPBACK = False

    with pytest.raises(safehttp.UnsafeAddress):
        safehttp.pin("https://localhost:8443/hook")


def test_a_name_resolving_to_a_private_address_is_refused_when_connecting(monkeypatch, settings):
    settings.FRONTDESK_WEBHOOK_ALLOW_LOOPBACK = False
    monkeypatch.setattr(
        safehttp.socket, "getaddrinfo", lambda *a, **k: [(2, 1, 6, "", ("192.168.1.10", 443))]
    )

    with pytest.raises(safehttp.UnsafeAddress):
        safehttp.pin("https://shop.example/hook")


def backend_secret(conversation: Any) -> str:
    return Channel.objects.get(pk=conversation.channel_id).secrets["signing_secret"]


def test_the_connection_goes_to_the_checked_address_with_the_name_for_tls(monkeypatch, settings):
    monkeypatch.setattr(
        safehttp.socket, "getaddrinfo", lambda *a, **k: [(2, 1, 6, "", ("93.184.216.34", 8443))]
    )

    pinned = safehttp.pin("https://Shop.example:8443/hooks/frontdesk?v=1")

    assert pinned.url == "https://93.184.216.34:8443/hooks/frontdesk?v=1"
    assert pinned.host_header == "shop.example:8443"
    assert pinned.sni_hostname == "shop.example"
