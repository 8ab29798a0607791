"""A customer's first email opens a conversation; their reply to our reply joins it."""

from __future__ import annotations

import pytest

from frontdesk.channels.base import RawPayload
from frontdesk.channels.email.addresses import reply_address
from frontdesk.desk.actions.inbound import receive_raw
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db

FIRST = b"""From: Jan Kowalski <jan@example.org>
To: support@rowery.example
Subject: =?utf-8?q?Gdzie_jest_moja_paczka=3F?=
Message-ID: <first@example.org>
Date: Mon, 23 Nov 2026 10:00:00 +0100
Content-Type: text/plain; charset=utf-8

Dzien dobry, zamowienie RW-1 nie dotarlo.
"""


@pytest.fixture
def mailbox(tenant):  # type: ignore[no-untyped-def]
    return ChannelFactory(
        tenant=tenant,
        kind="email",
        config={"address": "support@rowery.example"},
        inbound_address="support@rowery.example",
    )


def test_a_first_email_opens_a_conversation(mailbox):
    _raw, [result] = receive_raw(mailbox, RawPayload(body=FIRST))

    assert result.created
    assert result.conversation.subject == "Gdzie jest moja paczka?"
    assert result.message.provider_id == "<first@example.org>"
    assert result.conversation.customer.identity("email").address == "jan@example.org"


def test_the_same_email_twice_is_one_message(mailbox):
    receive_raw(mailbox, RawPayload(body=FIRST))
    _raw, [again] = receive_raw(mailbox, RawPayload(body=FIRST))

    assert not again.created


def test_an_answer_to_the_signed_reply_address_joins_the_conversation_from_another_address(mailbox):
    _raw, [first] = receive_raw(mailbox, RawPayload(body=FIRST))
    to = reply_address("support@rowery.example", mailbox.tenant_id, first.conversation.number)
    answer = (
        f"From: Jan at work <jan.kowalski@firma.example>\nTo: {to}\nSubject: Re: paczka\n"
        "Message-ID: <answer@firma.example>\n\nTo ja, Jan.\n"
    ).encode()

    _raw, [result] = receive_raw(mailbox, RawPayload(body=answer))

    assert result.conversation.pk == first.conversation.pk
