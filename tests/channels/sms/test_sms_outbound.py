"""The SMS channel, outbound: agents' replies go through Twilio's Messages API from the outbox,
retried when Twilio cannot take them now, failed for good when the number is wrong."""

from __future__ import annotations

import pytest

from frontdesk.desk.actions.conversations import do_reply
from frontdesk.desk.errors import ActionError
from frontdesk.desk.models import (
    Channel,
    Conversation,
    DeliveryState,
    DeliveryStatus,
    Direction,
    Message,
    RawInbound,
    RawState,
)
from frontdesk.desk.worker.runner import run_ready_tasks

from .conftest import ACCOUNT_SID, CUSTOMER_NUMBER, SHOP_NUMBER, FakeTwilio, Phone

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def conversation(phone: Phone, tenant, settings) -> Conversation:  # type: ignore[no-untyped-def]
    """A customer texted the shop; only the agents' replies go out (no acknowledgement)."""
    settings.FRONTDESK_DELIVERY_BACKOFF_SECONDS = 0.0
    tenant.service = {**(tenant.service or {}), "acknowledge": False}
    tenant.save(update_fields=["service"])
    phone.text("Czy mój rower jest gotowy?")
    return Message.objects.get(channel=phone.channel, direction=Direction.IN).conversation


def test_a_reply_is_sent_through_twilio_from_the_shops_number(conversation, agent, twilio: FakeTwilio, phone):
    reply = do_reply(agent, conversation, "Tak, można odebrać jutro.")

    run_ready_tasks()

    [call] = twilio.calls
    assert call.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert call.headers["content-type"] == "application/x-www-form-urlencoded"
    assert call.field("To") == CUSTOMER_NUMBER
    assert call.field("From") == SHOP_NUMBER
    assert call.field("Body") == "Tak, można odebrać jutro."
    assert call.field("StatusCallback") == phone.public_url
    reply.refresh_from_db()
    assert reply.delivery_state == DeliveryState.SENT
    assert reply.provider_id == f"SM{1:032x}"


def test_a_messaging_service_sends_instead_of_a_number(conversation, agent, twilio: FakeTwilio):
    channel = conversation.channel
    service = "MG" + "a" * 32
    channel.config = {
        "account_sid": ACCOUNT_SID,
        "messaging_service_sid": service,
        "api_base_url": twilio.url,
    }
    channel.save(update_fields=["config"])
    reply = do_reply(agent, conversation, "Hello")

    run_ready_tasks()

    [call] = twilio.calls
    assert call.field("MessagingServiceSid") == service
    assert "From" not in call.form
    reply.refresh_from_db()
    assert reply.delivery_state == DeliveryState.SENT


def test_an_invalid_number_fails_the_reply_for_good_with_twilios_answer(conversation, agent, twilio):
    twilio.answers = [(400, 21211)]
    reply = do_reply(agent, conversation, "Hello")

    run_ready_tasks()

    reply.refresh_from_db()
    assert reply.delivery_state == DeliveryState.FAILED
    assert "21211" in reply.delivery_error
    assert f"Invalid 'To' Phone Number: {CUSTOMER_NUMBER}" in reply.delivery_error
    assert len(twilio.calls) == 1


def test_a_twilio_server_error_is_retried_until_it_is_sent(conversation, agent, twilio):
    twilio.answers = [(500, 20500), (503, 20500)]
    reply = do_reply(agent, conversation, "Hello")

    run_ready_tasks()

    delivery = reply.deliveries.get()
    assert delivery.status == DeliveryStatus.SENT
    assert [a.ok for a in delivery.attempt_log.order_by("id")] == [False, False, True]
    assert len(twilio.calls) == 3


def test_too_many_requests_is_retried(conversation, agent, twilio):
    twilio.answers = [(429, 20429)]
    reply = do_reply(agent, conversation, "Hello")

    run_ready_tasks()

    assert reply.deliveries.get().status == DeliveryStatus.SENT
    assert len(twilio.calls) == 2


def test_a_wrong_auth_token_fails_the_reply_and_marks_the_channel(conversation, agent, twilio):
    channel = conversation.channel
    channel.secrets = {"auth_token": "revoked"}
    channel.save()
    reply = do_reply(agent, conversation, "Hello")

    run_ready_tasks()

    reply.refresh_from_db()
    channel.refresh_from_db()
    assert reply.delivery_state == DeliveryState.FAILED
    assert "20003" in reply.delivery_error
    assert "20003" in channel.last_error


def test_a_reply_longer_than_an_sms_can_carry_is_refused_before_it_is_queued(conversation, agent, twilio):
    with pytest.raises(ActionError) as refused:
        do_reply(agent, conversation, "x" * 1601)

    assert refused.value.code == "message_too_long"
    run_ready_tasks()
    assert twilio.calls == []


def test_a_failed_status_callback_marks_the_sent_reply_failed(conversation, agent, twilio, phone: Phone):
    reply = do_reply(agent, conversation, "Hello")
    run_ready_tasks()
    reply.refresh_from_db()

    params = phone.params(None, MessageSid=reply.provider_id, MessageStatus="undelivered", ErrorCode="30003")
    params.update({"From": SHOP_NUMBER, "To": CUSTOMER_NUMBER, "SmsStatus": "undelivered"})
    response = phone.post(params)

    assert response.status_code == 200
    reply.refresh_from_db()
    assert reply.delivery_state == DeliveryState.FAILED
    assert "30003" in reply.delivery_error
    assert Conversation.objects.count() == 1


def test_a_failed_status_callback_for_an_unknown_message_opens_no_conversation(conversation, phone: Phone):
    params = phone.params(None, MessageSid="SM" + "9" * 32, MessageStatus="failed", ErrorCode="30008")
    params.update({"From": SHOP_NUMBER, "To": CUSTOMER_NUMBER, "SmsStatus": "failed"})

    response = phone.post(params)

    assert response.status_code == 422
    assert Conversation.objects.count() == 1
    assert RawInbound.objects.order_by("-id").first().state == RawState.REJECTED


def test_a_delivered_status_callback_is_stored_without_a_message(conversation, agent, twilio, phone: Phone):
    reply = do_reply(agent, conversation, "Hello")
    run_ready_tasks()
    reply.refresh_from_db()
    before = Message.objects.count()

    params = phone.params(None, MessageSid=reply.provider_id, MessageStatus="delivered")
    params.update({"From": SHOP_NUMBER, "To": CUSTOMER_NUMBER, "SmsStatus": "delivered"})
    response = phone.post(params)

    assert response.status_code == 200
    assert Message.objects.count() == before
    reply.refresh_from_db()
    assert reply.delivery_state == DeliveryState.SENT


def test_the_channel_is_offered_for_phone_replies(conversation):
    channel: Channel = conversation.channel
    caps = channel.adapter.capabilities

    assert (caps.recipient_kind, caps.can_send, caps.max_length, caps.attachments) == (
        "phone",
        True,
        1600,
        False,
    )
