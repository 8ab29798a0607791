"""Replies to contact-form conversations go out by email, through a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from frontdesk.desk.actions.conversations import do_reply
from frontdesk.desk.models import Channel, DeliveryState, DeliveryStatus
from frontdesk.desk.worker.runner import run_ready_tasks
from tests.factories import ChannelFactory, receive

pytestmark = pytest.mark.django_db(transaction=True)


class Mailbox:
    """An SMTP peer that accepts mail, except for the addresses told to refuse (with their answer)."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.refuse: dict[str, str] = {}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.messages.append(
            {
                "from": envelope.mail_from,
                "to": list(envelope.rcpt_tos),
                "mail": email.message_from_bytes(envelope.content, policy=email.policy.default),
            }
        )
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def mailbox(settings) -> Iterator[Mailbox]:  # type: ignore[no-untyped-def]
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.FRONTDESK_DELIVERY_BACKOFF_SECONDS = 0.0
    yield box
    controller.stop()


@pytest.fixture
def form(tenant):  # type: ignore[no-untyped-def]
    return ChannelFactory(
        tenant=tenant, kind="form", name="Contact", config={"reply_from": "Rowery <obsluga@rowery.example>"}
    )


def test_a_reply_to_a_form_conversation_is_emailed_with_its_reference(form, agent, mailbox):
    conversation = receive(form, "Chcę zwrócić rower", email="jan@example.org", subject="Zwrot roweru")

    reply = do_reply(agent, conversation, "Prosimy odesłać rower na nasz adres.")
    run_ready_tasks()

    [sent] = mailbox.messages
    mail = sent["mail"]
    assert sent["to"] == ["jan@example.org"]
    assert sent["from"] == "obsluga@rowery.example"
    assert mail["Subject"] == f"Re: Zwrot roweru [#{conversation.number}]"
    assert "Prosimy odesłać rower na nasz adres." in mail.get_body(("plain",)).get_content()
    reply.refresh_from_db()
    assert reply.delivery_state == DeliveryState.SENT
    assert reply.provider_id == mail["Message-ID"]


def test_a_recipient_the_server_refuses_for_good_fails_the_reply_visibly(form, agent, mailbox):
    mailbox.refuse["nobody@example.org"] = "550 5.1.1 No such user here"
    conversation = receive(form, "Hello", email="nobody@example.org")

    reply = do_reply(agent, conversation, "Thank you")
    run_ready_tasks()

    reply.refresh_from_db()
    assert reply.delivery_state == DeliveryState.FAILED
    assert "550" in reply.delivery_error
    assert "No such user" in reply.delivery_error
    assert reply.deliveries.get().attempts == 1
    assert mailbox.messages == []


def test_a_temporary_refusal_is_retried(form, agent, mailbox):
    mailbox.refuse["busy@example.org"] = "451 4.7.1 Try again later"
    conversation = receive(form, "Hello", email="busy@example.org")
    reply = do_reply(agent, conversation, "Thank you")

    run_ready_tasks(limit=1)

    delivery = reply.deliveries.get()
    assert delivery.status == DeliveryStatus.PENDING
    assert "451" in delivery.last_error

    del mailbox.refuse["busy@example.org"]
    run_ready_tasks()

    reply.refresh_from_db()
    assert reply.delivery_state == DeliveryState.SENT
    assert len(mailbox.messages) == 1


def test_a_mail_server_that_is_down_is_retried(form, agent, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()  # nobody listens here
    conversation = receive(form, "Hello")
    reply = do_reply(agent, conversation, "Thank you")

    run_ready_tasks(limit=1)

    delivery = reply.deliveries.get()
    assert delivery.status == DeliveryStatus.PENDING
    assert "Could not reach the mail server" in delivery.last_error
    assert Channel.objects.get(pk=form.pk).last_error == ""
