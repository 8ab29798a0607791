"""Received mail as the desk keeps it: through receive_raw, the way the IMAP fetcher, the SMTP
receiver and ingest-eml deliver it. Messages come from the corpus where one fits."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from frontdesk.channels.base import RawPayload
from frontdesk.channels.email.addresses import reply_address
from frontdesk.channels.email.inbound import raw_dedupe_key
from frontdesk.desk.actions.conversations import do_reply, do_set_status
from frontdesk.desk.actions.inbound import receive_raw
from frontdesk.desk.models import Attachment, DeliveryState, Message, RawInbound, RawState, Status
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "email" / "frontdesk"
OUR_ID = "<20261123101500.k3x9abmq2fz7hd4lw6ty5npr@rowery.example>"


def corpus(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def mail(headers: str, body: str = "Dzień dobry, mam pytanie o rower.\n") -> bytes:
    return (headers.strip("\n") + "\n\n" + body).encode()


@pytest.fixture
def mailbox(tenant):  # type: ignore[no-untyped-def]
    return ChannelFactory(
        tenant=tenant,
        kind="email",
        config={"address": "support@rowery.example"},
        inbound_address="support@rowery.example",
    )


def receive(mailbox, raw: bytes, **headers: str):  # type: ignore[no-untyped-def]
    _raw, results = receive_raw(mailbox, RawPayload(body=raw, headers=headers))
    return results[0]


def our_reply_in_a_conversation(mailbox, agent, sender: str = "emily.clark@example.co.uk"):  # type: ignore[no-untyped-def]
    """A customer wrote; an agent answered, and the answer went out as OUR_ID."""
    first = receive(
        mailbox, mail(f"From: {sender}\nSubject: Where is my order?\nMessage-ID: <q1@example.co.uk>")
    )
    reply = do_reply(agent, first.conversation, "Your order RW-2231 left our warehouse yesterday.")
    Message.objects.filter(pk=reply.pk).update(provider_id=OUR_ID, delivery_state=DeliveryState.SENT)
    return first.conversation, reply


def test_a_gmail_reply_joins_its_conversation_with_the_quoted_history_apart(mailbox, agent):
    conversation, _reply = our_reply_in_a_conversation(mailbox, agent)

    result = receive(mailbox, corpus("replies/gmail_en.eml"))

    message = result.message
    assert result.conversation.pk == conversation.pk
    assert message.text.startswith("Thank you, the parcel arrived this morning.")
    assert "left our warehouse" not in message.text
    assert "left our warehouse" in message.quoted_text
    assert message.provider_id == "<CAF3k9xZq8Jm2R+hVbT0pL4nWcE7sYd@mail.gmail.com>"
    assert message.language == "en"
    assert message.sent_at == dt.datetime(2026, 11, 23, 11, 2, 41, tzinfo=dt.UTC)
    assert 'class="gmail_quote' in message.html and "<script" not in message.html


def test_a_bounce_marks_our_reply_as_not_delivered_in_its_conversation(mailbox, agent):
    conversation, reply = our_reply_in_a_conversation(mailbox, agent)

    result = receive(mailbox, corpus("bounces/postfix_user_unknown.eml"))

    reply.refresh_from_db()
    assert result.conversation.pk == conversation.pk
    assert result.message.author_kind == "system" and result.message.is_auto_reply
    assert reply.delivery_state == DeliveryState.FAILED
    assert "5.1.1" in reply.delivery_error and "User unknown" in reply.delivery_error


def test_an_out_of_office_reply_is_kept_but_does_not_bring_the_conversation_back(mailbox, agent):
    conversation, _reply = our_reply_in_a_conversation(mailbox, agent)
    do_set_status(agent, conversation, Status.PENDING)

    result = receive(mailbox, corpus("auto-replies/outlook_automatic_reply_en.eml"))

    conversation.refresh_from_db()
    assert result.conversation.pk == conversation.pk
    assert result.message.is_auto_reply
    assert conversation.status == Status.PENDING


def test_a_reply_to_the_signed_address_from_another_address_joins_the_conversation(mailbox, agent):
    conversation, _reply = our_reply_in_a_conversation(mailbox, agent)
    signed = reply_address("support@rowery.example", mailbox.tenant_id, conversation.number)

    in_header = receive(mailbox, mail(f"From: emily@work.example\nTo: {signed}\nSubject: from work"))
    forged = receive(
        mailbox, mail(f"From: emily@work.example\nTo: {signed.replace('+c', '+c9')}\nSubject: forged")
    )

    assert in_header.conversation.pk == conversation.pk
    assert forged.conversation.pk != conversation.pk


def test_the_envelope_recipient_the_smtp_receiver_passes_along_counts_as_a_recipient(mailbox, agent):
    conversation, _reply = our_reply_in_a_conversation(mailbox, agent)
    signed = reply_address("support@rowery.example", mailbox.tenant_id, conversation.number)
    # Bcc'd to the reply address: only the envelope knows.
    raw = mail("From: emily@home.example\nTo: someone@else.example\nSubject: copy\nMessage-ID: <bcc@x>")

    result = receive(mailbox, raw, **{"x-frontdesk-rcpt": f"other@rowery.example, {signed}"})

    assert result.conversation.pk == conversation.pk


def test_mail_without_a_message_id_is_deduplicated_by_its_bytes(mailbox):
    raw = corpus("charsets/missing_message_id.eml")

    first = receive(mailbox, raw)
    again = receive(mailbox, raw)
    other = receive(mailbox, raw + b"\nP.S. jeszcze jedno.\n")

    assert first.created and not again.created and other.created
    assert first.message.provider_id.startswith("sha256:")
    assert raw_dedupe_key(raw) == first.message.provider_id
    assert (
        raw_dedupe_key(corpus("replies/gmail_en.eml")) == "<CAF3k9xZq8Jm2R+hVbT0pL4nWcE7sYd@mail.gmail.com>"
    )


def test_bytes_that_are_not_mail_are_kept_as_rejected_with_the_reason(mailbox):
    from frontdesk.channels.base import InboundRejected

    with pytest.raises(InboundRejected):
        receive_raw(mailbox, RawPayload(body=corpus("charsets/garbage_no_headers.eml")))
    with pytest.raises(InboundRejected):
        receive_raw(mailbox, RawPayload(body=mail("To: support@rowery.example\nSubject: nobody wrote this")))

    garbage, no_sender = RawInbound.objects.order_by("id")
    assert garbage.state == RawState.REJECTED and "no headers" in garbage.error
    assert no_sender.state == RawState.REJECTED and "no sender address" in no_sender.error
    assert not Message.objects.exists()


def test_a_message_with_only_a_sender_header_is_answered_to_the_sender(mailbox):
    result = receive(mailbox, corpus("charsets/sender_only_no_from.eml"))

    assert result.conversation.customer.identity("email").address == "formularz@partner.example.pl"


def test_inline_images_are_stored_with_their_content_ids(mailbox):
    result = receive(mailbox, corpus("structure/apple_inline_cid_images.eml"))

    stored = list(
        result.message.attachments.order_by("id").values_list("filename", "content_type", "content_id")
    )
    assert stored == [
        ("IMG_0001.png", "image/png", "7A1B2C3D-0001@example.com"),
        ("IMG_0002.png", "image/png", "7A1B2C3D-0002@example.com"),
    ]
    assert 'src="cid:7A1B2C3D-0001@example.com"' in result.message.html


def test_tnef_and_forwarded_attachments_are_stored_as_files(mailbox):
    tnef = receive(mailbox, corpus("structure/outlook_tnef_winmail.eml"))
    forwarded = receive(mailbox, corpus("structure/forwarded_as_attachment.eml"))

    assert sorted(tnef.message.attachments.values_list("filename", flat=True)) == [
        "Faktura VAT 11-2026.pdf",
        "zdjęcie roweru.png",
    ]
    assert tnef.message.text.startswith("Dzień dobry,\nw załączeniu faktura")
    assert sorted(forwarded.message.attachments.values_list("filename", flat=True)) == [
        "FV-2100.pdf",
        "Faktura do zamówienia RW-2100.eml",
    ]


def test_an_attachment_over_the_limit_is_left_out_with_a_note_not_the_whole_message(mailbox, settings):
    settings.FRONTDESK_MAX_ATTACHMENT_BYTES = 1_000_000

    result = receive(mailbox, corpus("structure/huge_attachment.eml"))

    assert result.created
    assert result.message.text.startswith("W załączniku pełna dokumentacja techniczna")
    assert "Not kept: dokumentacja.pdf" in result.message.text
    assert not Attachment.objects.exists()


def test_attachments_beyond_the_count_limit_are_left_out_with_a_note(mailbox, settings):
    settings.FRONTDESK_MAX_ATTACHMENTS = 5

    result = receive(mailbox, corpus("structure/deeply_nested.eml"))

    assert result.message.attachments.count() == 5
    assert "Not kept: 7 more attachments (at most 5 per message): poziom6.txt" in result.message.text


def test_a_text_over_the_limit_is_shortened_and_attached_whole(mailbox, settings):
    settings.FRONTDESK_MAX_MESSAGE_CHARS = 2_000
    long_text = "Bardzo długi opis usterki. " * 500

    result = receive(
        mailbox, mail("From: jan@example.pl\nSubject: Długi opis\nMessage-ID: <long@x>", long_text)
    )

    attachment = result.message.attachments.get()
    assert len(result.message.text) <= 2_000
    assert "the whole text is attached as message.txt" in result.message.text
    assert attachment.filename == "message.txt" and attachment.size == len(long_text.strip().encode())


def test_the_language_is_one_of_the_shops_or_none(mailbox):
    polish = receive(mailbox, corpus("charsets/iso88592_new_message.eml"))
    russian = receive(mailbox, corpus("charsets/koi8r_8bit_headers.eml"))  # the shop speaks pl and en

    assert polish.message.language == "pl" and polish.conversation.language == "pl"
    assert russian.message.language == ""
    assert russian.message.text.startswith("Здравствуйте!")


def test_an_absurd_date_is_not_taken_as_the_send_time(mailbox):
    result = receive(mailbox, corpus("charsets/absurd_date_and_bad_from.eml"))

    assert result.message.sent_at is None
    assert result.message.created_at is not None


def test_a_bounce_without_text_gets_a_readable_summary(mailbox):
    raw = mail(
        "From: MAILER-DAEMON@mx.example.pl\nSubject: Undelivered Mail Returned to Sender\n"
        "Message-ID: <b@mx>\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="R"',
        "--R\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx\n\n"
        "Final-Recipient: rfc822; gone@example.pl\nAction: failed\nStatus: 5.1.1\n--R--\n",
    )

    result = receive(mailbox, raw)

    assert result.message.text == "The message to gone@example.pl could not be delivered.\n5.1.1"
    assert result.message.is_auto_reply
