"""When the mail server says no: temporary refusals and outages are retried until the reply is
delivered, exactly once; permanent refusals fail the reply with the server's own words on it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from django.db.models import F
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult, get_date_max

from frontdesk.channels.base import RawPayload
from frontdesk.desk.actions.conversations import do_reply
from frontdesk.desk.actions.inbound import receive_raw
from frontdesk.desk.models import Conversation, Delivery, DeliveryState, DeliveryStatus
from frontdesk.desk.worker.runner import run_ready_tasks
from tests.factories import PASSWORD, ChannelFactory

from .smtp_peer import SmtpPeer

pytestmark = pytest.mark.django_db(transaction=True)

FIRST = (
    b"From: Jan Kowalski <jan@example.org>\r\nTo: support@rowery.example\r\nSubject: Paczka\r\n"
    b"Message-ID: <first@example.org>\r\n\r\nGdzie jest paczka?\r\n"
)


@pytest.fixture
def peer() -> Iterator[SmtpPeer]:
    server = SmtpPeer().start()
    yield server
    server.stop()


@pytest.fixture
def mailbox(tenant, peer):  # type: ignore[no-untyped-def]
    return ChannelFactory(
        tenant=tenant, kind="email", config=peer.config(), inbound_address="support@rowery.example"
    )


@pytest.fixture
def conversation(mailbox) -> Conversation:
    _raw, [result] = receive_raw(mailbox, RawPayload(body=FIRST))
    return result.conversation


def pass_time(delay: dt.timedelta) -> None:
    """Make everything scheduled `delay` from now due now, as if that time had passed."""
    Delivery.objects.update(next_attempt_at=F("next_attempt_at") - delay)
    DBTaskResult.objects.filter(status="READY").exclude(run_after=get_date_max()).update(
        run_after=F("run_after") - delay
    )


def test_a_temporary_refusal_is_retried_and_then_delivered(agent, conversation, peer, settings):
    settings.FRONTDESK_DELIVERY_BACKOFF_SECONDS = 0.0
    peer.handler.data_answers.append("451 4.3.0 Mail server temporarily rejected message")

    message = do_reply(agent, conversation, "It ships today.")
    run_ready_tasks()

    message.refresh_from_db()
    delivery = message.deliveries.get()
    assert message.delivery_state == DeliveryState.SENT
    assert [a.ok for a in delivery.attempt_log.order_by("id")] == [False, True]
    assert (
        "451 4.3.0 Mail server temporarily rejected message" in delivery.attempt_log.order_by("id")[0].detail
    )
    assert len(peer.received) == 1
    # Both attempts carried the same Message-ID: a copy that did get through is a duplicate to clients.
    offered_ids = {raw.split(b"Message-ID: ", 1)[1].split(b"\r\n", 1)[0] for raw in peer.handler.offered}
    assert offered_ids == {message.provider_id.encode()}


def test_a_temporary_recipient_refusal_is_retried(agent, conversation, peer, settings):
    settings.FRONTDESK_DELIVERY_BACKOFF_SECONDS = 0.0
    peer.handler.rcpt_answers.append("450 4.2.0 Mailbox busy, try later")

    message = do_reply(agent, conversation, "It ships today.")
    run_ready_tasks()

    message.refresh_from_db()
    assert message.delivery_state == DeliveryState.SENT, message.delivery_error
    assert message.deliveries.get().attempts == 2


def test_a_refused_message_fails_with_the_servers_answer_shown_to_the_agent(agent, conversation, peer):
    peer.handler.data_answers.append("550 5.7.1 Message rejected as spam by Content Filtering")

    message = do_reply(agent, conversation, "It ships today.")
    run_ready_tasks()

    message.refresh_from_db()
    delivery = message.deliveries.get()
    assert message.delivery_state == DeliveryState.FAILED, message.delivery_error
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == 1
    assert "550 5.7.1 Message rejected as spam by Content Filtering" in message.delivery_error
    client = Client()
    client.login(username=agent.user.email, password=PASSWORD)
    page = client.get(f"/t/{conversation.tenant.slug}/c/{conversation.number}/").content.decode()
    assert "550 5.7.1 Message rejected as spam by Content Filtering" in page


def test_an_unknown_recipient_fails_with_the_servers_answer(agent, conversation, peer):
    peer.handler.rcpt_answers.append("550 5.1.1 <jan@example.org>: Recipient address rejected: User unknown")

    message = do_reply(agent, conversation, "It ships today.")
    run_ready_tasks()

    message.refresh_from_db()
    assert message.delivery_state == DeliveryState.FAILED
    assert "550 5.1.1 <jan@example.org>: Recipient address rejected: User unknown" in message.delivery_error
    assert peer.received == []


def test_a_refused_sender_fails_and_marks_the_channel(agent, conversation, mailbox, peer):
    message = do_reply(agent, conversation, "It ships today.")
    mailbox.config = {**mailbox.config, "address": "nobody@elsewhere.example"}
    mailbox.save(update_fields=["config"])
    peer.handler.mail_answers.append("553 5.7.1 Sender address rejected: not owned by user")

    run_ready_tasks()

    message.refresh_from_db()
    mailbox.refresh_from_db()
    assert message.delivery_state == DeliveryState.FAILED
    assert "553 5.7.1 Sender address rejected: not owned by user" in mailbox.last_error


def test_a_mail_server_down_for_an_hour_loses_nothing(agent, conversation, mailbox, peer):
    """The default retry settings: the server refuses connections for over an hour, then comes back."""
    peer.stop()
    message = do_reply(agent, conversation, "It ships today.")
    outage = dt.timedelta(0)

    while outage < dt.timedelta(hours=1, minutes=5):
        run_ready_tasks()
        delivery = message.deliveries.get()
        assert delivery.status == DeliveryStatus.PENDING, delivery.last_error
        assert "refused the connection" in delivery.last_error
        wait = delivery.next_attempt_at - timezone.now()
        outage += wait
        pass_time(wait)

    peer.start()
    run_ready_tasks()
    pass_time(dt.timedelta(days=1))
    run_ready_tasks()

    message.refresh_from_db()
    delivery = message.deliveries.get()
    assert message.delivery_state == DeliveryState.SENT
    assert delivery.attempts > 5
    assert len(peer.received) == 1
    assert peer.received[0].message["Message-ID"] == message.provider_id
