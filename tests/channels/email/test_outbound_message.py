"""An agent's reply reaches the customer's mail server as a proper email: threaded by its headers,
with both parts, the shop's header and footer and the agent's signature in the conversation's
language, attachments with their names; the customer's answer to it joins the same conversation."""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import getaddresses

import pytest

from frontdesk.channels.base import (
    BounceReport,
    InboundAttachment,
    InboundContact,
    InboundMessage,
    RawPayload,
)
from frontdesk.channels.email.addresses import conversation_from_address, reply_address
from frontdesk.desk.actions.conversations import do_reply
from frontdesk.desk.actions.inbound import do_receive_inbound, receive_raw
from frontdesk.desk.models import Conversation, DeliveryState, Message
from frontdesk.desk.worker.runner import run_ready_tasks
from tests.factories import ChannelFactory

from .smtp_peer import Received, SmtpPeer

pytestmark = pytest.mark.django_db(transaction=True)

FIRST = b"""From: Jan Kowalski <jan@example.org>
To: support@rowery.example
Subject: =?utf-8?q?Gdzie_jest_moja_paczka=3F?=
Message-ID: <first@example.org>
Date: Mon, 23 Nov 2026 10:00:00 +0100
Content-Type: text/plain; charset=utf-8

Dzien dobry, zamowienie RW-1 nie dotarlo.
"""

HEADERS = {"pl": "Dzień dobry,", "en": "Hello,"}
FOOTERS = {
    "pl": "Sklep Rowerowy · odpowiadamy w dni robocze",
    "en": "Rowery bike shop · we answer on workdays",
}


@pytest.fixture
def peer() -> Iterator[SmtpPeer]:
    server = SmtpPeer().start()
    yield server
    server.stop()


@pytest.fixture
def mailbox(tenant, peer):  # type: ignore[no-untyped-def]
    return ChannelFactory(
        tenant=tenant,
        kind="email",
        name="Support",
        config=peer.config(reply_header=HEADERS, reply_footer=FOOTERS),
        inbound_address="support@rowery.example",
    )


@pytest.fixture
def conversation(mailbox) -> Conversation:
    _raw, [result] = receive_raw(mailbox, RawPayload(body=FIRST))
    return result.conversation


def reply(  # type: ignore[no-untyped-def]
    peer: SmtpPeer, agent, conversation, text: str = "Paczka wyjechała dziś.", **kwargs
) -> tuple[Message, Received]:
    """The agent answers; the worker sends; the mail server has it."""
    message = do_reply(agent, conversation, text, **kwargs)
    run_ready_tasks()
    message.refresh_from_db()
    assert message.delivery_state == DeliveryState.SENT, message.delivery_error
    return message, peer.received[-1]


def plain_of(mail: EmailMessage) -> str:
    part = mail.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def html_of(mail: EmailMessage) -> str:
    part = mail.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def test_a_reply_arrives_with_the_headers_that_thread_it(agent, conversation, peer):
    message, received = reply(peer, agent, conversation)
    mail = received.message

    assert mail["From"] == "Rowery Support <support@rowery.example>"
    assert mail["To"] == "Jan Kowalski <jan@example.org>"
    assert mail["Subject"] == f"Re: Gdzie jest moja paczka? [#{conversation.number}]"
    assert mail["In-Reply-To"] == "<first@example.org>"
    assert mail["References"] == "<first@example.org>"
    assert mail["Auto-Submitted"] == "no"
    assert mail["Date"].datetime is not None
    # The id the customer's mail client and any bounce will quote is the one stored.
    assert mail["Message-ID"] == message.provider_id == message.deliveries.get().provider_id
    assert message.provider_id.endswith("@rowery.example>")
    assert (received.mail_from, received.rcpt_tos) == ("support@rowery.example", ["jan@example.org"])


def test_answers_go_to_the_conversations_signed_reply_address(agent, conversation, tenant, peer):
    _message, received = reply(peer, agent, conversation)

    [(name, address)] = getaddresses([str(received.message["Reply-To"])])
    assert name == "Rowery Support"
    assert address == reply_address("support@rowery.example", tenant.pk, conversation.number)
    assert conversation_from_address(address, tenant.pk) == conversation.number


def test_the_shop_name_is_the_sender_when_the_channel_has_no_sender_name(agent, conversation, mailbox, peer):
    mailbox.config = {**mailbox.config, "from_name": ""}
    mailbox.save(update_fields=["config"])

    _message, received = reply(peer, agent, conversation)

    assert received.message["From"] == "Sklep Rowerowy <support@rowery.example>"


def test_the_reply_has_a_plain_text_and_an_html_part_built_safely(agent, conversation, peer):
    text = (
        "Track it at https://rowery.example/track/RW-1 please.\n"
        "Second line <img src=x onerror=alert(1)> & more.\n\n"
        "New paragraph."
    )
    _message, received = reply(peer, agent, conversation, text)
    mail = received.message

    plain = plain_of(mail)
    html = html_of(mail)
    assert mail.get_content_type() == "multipart/alternative"
    assert text in plain
    assert '<a href="https://rowery.example/track/RW-1">https://rowery.example/track/RW-1</a>' in html
    assert "<img" not in html
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; more." in html
    assert "please.<br>" in html
    assert html.count('<p style="margin:0 0 1em">New paragraph.</p>') == 1


def test_header_signature_and_footer_come_in_the_conversations_language(agent, conversation, peer):
    agent.signature = "Anna Agent\nDział obsługi klienta"
    agent.save(update_fields=["signature"])
    Conversation.objects.filter(pk=conversation.pk).update(language="en")

    _message, received = reply(peer, agent, conversation, "It ships today.")
    mail = received.message

    plain = plain_of(mail)
    assert plain.startswith("Hello,\n\nIt ships today.\n\n-- \nAnna Agent\nDział obsługi klienta\n\n")
    assert "Rowery bike shop · we answer on workdays" in plain
    assert "Dzień dobry" not in plain
    html = html_of(mail)
    order = [
        html.index(part) for part in ("Hello,", "It ships today.", "Dział obsługi klienta", "Rowery bike")
    ]
    assert order == sorted(order)
    assert '<html lang="en">' in html


def test_without_a_conversation_language_the_shops_default_language_is_used(agent, conversation, peer):
    _message, received = reply(peer, agent, conversation)

    plain = plain_of(received.message)
    assert plain.startswith("Dzień dobry,\n\nPaczka wyjechała dziś.\n\n-- \nSklep Rowerowy · odpowiadamy")
    assert received.message["Content-Language"] == "pl"


def test_a_language_without_texts_falls_back_to_the_shops_default(agent, conversation, peer):
    Conversation.objects.filter(pk=conversation.pk).update(language="de")

    _message, received = reply(peer, agent, conversation)

    assert plain_of(received.message).startswith("Dzień dobry,")


def test_the_customers_message_is_quoted_below_the_reply(peer, agent, conversation):
    _message, received = reply(peer, agent, conversation)
    mail = received.message

    plain = plain_of(mail)
    # The conversation is in Polish, so is the line introducing the quote.
    reply_part, _sep, quote = plain.partition("Jan Kowalski napisał(a):")
    assert "Sklep Rowerowy · odpowiadamy" in reply_part  # the footer is above the quote
    assert quote.strip() == "> Dzien dobry, zamowienie RW-1 nie dotarlo."
    html = html_of(mail)
    assert '<blockquote class="gmail_quote" type="cite"' in html


def test_attachments_keep_their_non_ascii_names(agent, conversation, peer):
    files = [
        InboundAttachment("Faktura żółć 2026.pdf", "application/pdf", b"%PDF-1.4 faktura"),
        InboundAttachment("Zdjęcie roweru.jpg", "image/jpeg", b"\xff\xd8\xff\xe0 jpeg"),
    ]

    _message, received = reply(peer, agent, conversation, "Invoice and photo attached.", files=files)
    mail = received.message

    attachments = {a.get_filename(): (a.get_content_type(), a.get_content()) for a in mail.iter_attachments()}
    assert attachments == {
        "Faktura żółć 2026.pdf": ("application/pdf", b"%PDF-1.4 faktura"),
        "Zdjęcie roweru.jpg": ("image/jpeg", b"\xff\xd8\xff\xe0 jpeg"),
    }
    # RFC 2231 parameters, which every mail client decodes.
    assert b"filename*=utf-8''Faktura%20%C5%BC%C3%B3%C5%82%C4%87%202026.pdf" in received.data
    assert plain_of(mail).startswith("Dzień dobry,")


def test_the_customers_answer_to_the_reply_joins_the_same_conversation(agent, conversation, mailbox, peer):
    message, received = reply(peer, agent, conversation)
    sent = received.message
    answer = (
        "From: Jan Kowalski <jan@example.org>\r\n"
        "To: support@rowery.example\r\n"
        "Subject: Re: something my client rewrote\r\n"
        "Message-ID: <answer-1@example.org>\r\n"
        f"In-Reply-To: {sent['Message-ID']}\r\n"
        f"References: {sent['References']} {sent['Message-ID']}\r\n"
        "\r\nDziekuje!\r\n"
    ).encode()

    _raw, [result] = receive_raw(mailbox, RawPayload(body=answer))

    assert result.conversation.pk == conversation.pk
    assert result.message.text.strip() == "Dziekuje!"
    assert message.provider_id in answer.decode()


def test_an_answer_to_the_reply_address_from_another_address_joins_the_conversation(
    agent, conversation, mailbox, peer
):
    _message, received = reply(peer, agent, conversation)
    answer = (
        "From: Jan at work <jan.kowalski@firma.example>\r\n"
        f"To: {received.message['Reply-To']}\r\n"
        "Subject: my client lost the threading headers\r\n"
        "Message-ID: <answer-2@firma.example>\r\n"
        "\r\nTo ja, Jan.\r\n"
    ).encode()

    _raw, [result] = receive_raw(mailbox, RawPayload(body=answer))

    assert result.conversation.pk == conversation.pk


def test_a_second_reply_references_the_whole_thread_without_stacking_re(agent, conversation, mailbox, peer):
    first, received = reply(peer, agent, conversation)
    answer = (
        "From: Jan Kowalski <jan@example.org>\r\nTo: support@rowery.example\r\n"
        f"Subject: {received.message['Subject']}\r\nMessage-ID: <answer-3@example.org>\r\n"
        f"In-Reply-To: {first.provider_id}\r\n\r\nA kiedy dotrze?\r\n"
    ).encode()
    receive_raw(mailbox, RawPayload(body=answer))

    _second, again = reply(peer, agent, conversation, "Jutro.")

    assert again.message["Subject"] == f"Re: Gdzie jest moja paczka? [#{conversation.number}]"
    assert again.message["In-Reply-To"] == "<answer-3@example.org>"
    assert again.message["References"].split() == [
        "<first@example.org>",
        first.provider_id,
        "<answer-3@example.org>",
    ]
    assert "A kiedy dotrze?" in plain_of(again.message)


def test_the_installation_mail_server_sends_for_a_channel_without_its_own(
    agent, conversation, mailbox, peer, settings
):
    mailbox.config = {"address": "support@rowery.example", "reply_header": HEADERS}
    mailbox.save(update_fields=["config"])
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", peer.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False

    message, received = reply(peer, agent, conversation)

    assert received.message["Message-ID"] == message.provider_id
    assert received.message["From"] == "Sklep Rowerowy <support@rowery.example>"
    assert received.rcpt_tos == ["jan@example.org"]
    assert plain_of(received.message).startswith("Dzień dobry,")


def test_a_bounce_quoting_the_sent_message_id_fails_that_reply(agent, conversation, mailbox, peer):
    message, received = reply(peer, agent, conversation)
    on_the_wire = str(received.message["Message-ID"])

    # What the parser makes of the DSN the customer's server sends back to the channel's address.
    do_receive_inbound(
        mailbox,
        InboundMessage(
            dedupe_key="<dsn-1@mx.example.org>",
            contact=InboundContact(email="mailer-daemon@mx.example.org", name="Mail Delivery System"),
            subject="Undelivered Mail Returned to Sender",
            text="The mail system: <jan@example.org>: host mx.example.org said: 550 5.1.1 User unknown",
            is_auto_reply=True,
            bounce=BounceReport(
                original_message_ids=[on_the_wire],
                recipients=["jan@example.org"],
                status="5.1.1",
                diagnostic="smtp; 550 5.1.1 <jan@example.org>: User unknown",
            ),
        ),
    )

    message.refresh_from_db()
    assert message.delivery_state == DeliveryState.FAILED
    assert "550 5.1.1 <jan@example.org>: User unknown" in message.delivery_error

    # The next reply answers the customer's message, not the bounce.
    _again, next_mail = reply(peer, agent, conversation, "Please check your address.")
    assert next_mail.message["In-Reply-To"] == "<first@example.org>"
    assert "User unknown" not in plain_of(next_mail.message)
