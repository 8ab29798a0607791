"""Replies go through the outbox: queued with the message, sent by a worker, retried, failed visibly."""

from __future__ import annotations

import pytest

from frontdesk.desk.actions.conversations import do_reply
from frontdesk.desk.actions.outbox import process_delivery
from frontdesk.desk.models import Delivery, DeliveryState, DeliveryStatus, Status
from frontdesk.desk.worker.runner import run_ready_tasks
from tests.factories import receive

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def conversation(api_channel, shop):
    api_channel.config = {"webhook_url": f"{shop.url}/frontdesk"}
    api_channel.save()
    return receive(api_channel, "Where is my order?", external_id="cust-7")


def test_a_reply_is_queued_then_sent_by_the_worker(conversation, agent, shop):
    message = do_reply(agent, conversation, "It ships today.")
    assert message.delivery_state == DeliveryState.QUEUED
    assert shop.posts == []

    run_ready_tasks()

    message.refresh_from_db()
    assert message.delivery_state == DeliveryState.SENT
    delivery = message.deliveries.get()
    assert message.provider_id == f"shop-{delivery.pk}"  # the id the shop answered with
    [call] = shop.posts
    assert call.json()["message"]["text"] == "It ships today."
    assert call.json()["customer"]["external_id"] == "cust-7"
    assert call.headers["x-frontdesk-delivery"] == str(delivery.pk)


def test_replying_waits_on_the_customer_and_counts_the_first_response(conversation, agent):
    do_reply(agent, conversation, "Hello")

    conversation.refresh_from_db()
    assert conversation.status == Status.PENDING
    assert conversation.first_response_at is not None
    assert conversation.waiting_since is None


def test_a_transient_failure_is_retried_later_with_backoff(conversation, agent, shop, settings):
    settings.FRONTDESK_DELIVERY_BACKOFF_SECONDS = 0.0
    shop.answers = [(503, {}), (200, {})]
    message = do_reply(agent, conversation, "Hello")

    run_ready_tasks()

    delivery = message.deliveries.get()
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.attempts == 2
    assert [a.ok for a in delivery.attempt_log.all()] == [False, True]


def test_a_permanent_failure_is_shown_on_the_message(conversation, agent, shop):
    shop.answers = [(400, {})]
    message = do_reply(agent, conversation, "Hello")

    run_ready_tasks()

    message.refresh_from_db()
    assert message.delivery_state == DeliveryState.FAILED
    assert "HTTP 400" in message.delivery_error
    assert len(shop.posts) == 1


def test_a_claimed_delivery_is_not_sent_by_a_second_worker(conversation, agent, shop):
    message = do_reply(agent, conversation, "Hello")
    delivery = message.deliveries.get()

    first = process_delivery(delivery.pk, "worker-a")
    second = process_delivery(delivery.pk, "worker-b")

    assert (first, second) == ("sent", "skipped")
    assert len(shop.posts) == 1
    assert Delivery.objects.get().attempt_log.count() == 1
