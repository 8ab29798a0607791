"""Telling automatic mail from customers: auto-replies (RFC 3834), bounces (RFC 3464 and the
free-text kind), read receipts, mailing lists."""

from __future__ import annotations

import base64

import pytest

from frontdesk.channels.email.parse import parse_email

OUR_ID = "<20261123101500.abc@rowery.example>"
REPORT = 'multipart/report; report-type=delivery-status; boundary="R"'


def mail(headers: str, body: str = "Treść.\n") -> bytes:
    return (
        "From: Jan <jan@example.pl>\nTo: support@rowery.example\n" + headers.strip("\n") + "\n\n" + body
    ).encode()


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("Auto-Submitted: auto-replied", "auto-submitted: auto-replied"),
        ("Auto-Submitted: auto-generated (vacation)", "auto-submitted: auto-generated (vacation)"),
        ("Precedence: bulk", "precedence: bulk"),
        ("Precedence: junk", "precedence: junk"),
        ("Precedence: list", "precedence: list"),
        ("Precedence: auto_reply", "precedence: auto_reply"),
        ("X-Autoreply: yes", "x-autoreply: yes"),
        ("X-Autorespond: Thank you", "x-autorespond: thank you"),
        ("X-Auto-Response-Suppress: OOF", "x-auto-response-suppress: oof"),
        ("X-Auto-Response-Suppress: All", "x-auto-response-suppress: all"),
        ("Return-Path: <>", "null return path"),
    ],
)
def test_rfc_3834_headers_mark_an_automatic_reply(header: str, reason: str):
    classification = parse_email(mail(f"Subject: Re: zamówienie\n{header}")).classification

    assert classification.auto_reply
    assert reason in classification.reasons


@pytest.mark.parametrize(
    "header",
    [
        "Auto-Submitted: no",
        "Precedence: first-class",
        "X-Auto-Response-Suppress: DR, RN, NRN",
        "X-Autoreply: no",
    ],
)
def test_headers_saying_no_do_not_mark_an_automatic_reply(header: str):
    classification = parse_email(mail(f"Subject: Re: zamówienie\n{header}")).classification

    assert not classification.auto_reply and classification.reasons == []


@pytest.mark.parametrize(
    "subject",
    [
        "Automatic reply: Re: Where is my order? [#12]",
        "Out of Office: Re: Faktura",
        "Out of Office AutoReply: order",
        "Autoodpowiedź: Re: Zwrot [#5]",
        "Automatyczna odpowiedź: Re: Zwrot",
        "Nieobecność w biurze",
        "Автоответ: Re: Доставка",
        "Abwesenheitsnotiz: Lieferung",
        "Réponse automatique : commande",
        "[Auto] Out of office",
    ],
)
def test_out_of_office_subjects_in_several_languages_mark_an_automatic_reply(subject: str):
    classification = parse_email(mail(f"Subject: {subject}")).classification

    assert classification.auto_reply and classification.reasons == ["subject"]


@pytest.mark.parametrize(
    "subject",
    [
        "Re: Automatic reply: Re: order",  # the customer answering an auto-reply writes to us
        "Out of office hours, can I pick up the bike?",
        "Nieobecności kuriera - paczka nie dotarła",
        "Undelivered parcel RW-123",
        "Delivery failed twice, please call me",
    ],
)
def test_a_customer_writing_about_absence_or_delivery_is_not_automatic(subject: str):
    classification = parse_email(mail(f"Subject: {subject}")).classification

    assert not classification.auto_reply
    assert classification.bounce is None


def test_a_dsn_names_the_failed_recipients_status_and_our_message():
    report = (
        "Reporting-MTA: dns; mx.example.pl\n\n"
        "Final-Recipient: rfc822; ok@example.pl\nAction: delivered\nStatus: 2.0.0\n\n"
        "Final-Recipient: rfc822; <gone@example.pl>\nAction: failed\nStatus: 5.1.1\n"
        "Diagnostic-Code: smtp; 550 5.1.1 <gone@example.pl>: User unknown\n\n"
        "Final-Recipient: rfc822; full@example.pl\nAction: failed\n"
        "Diagnostic-Code: smtp; 552 5.2.2 Mailbox full\n"
    )
    encoded = base64.b64encode(report.encode()).decode()
    raw = mail(
        f"Subject: Undelivered Mail Returned to Sender\nContent-Type: {REPORT}",
        "--R\nContent-Type: text/plain\n\nNot delivered.\n"
        # Some MTAs base64-encode the report: the stdlib then can't split it into field blocks.
        f"--R\nContent-Type: message/delivery-status\nContent-Transfer-Encoding: base64\n\n{encoded}\n"
        "--R\nContent-Type: text/rfc822-headers\n\n"
        f"From: support@rowery.example\nMessage-ID: {OUR_ID}\n\n--R--\n",
    )

    classification = parse_email(raw).classification

    bounce = classification.bounce
    assert bounce is not None and classification.auto_reply
    assert bounce.original_message_ids == [OUR_ID]
    assert bounce.recipients == ["gone@example.pl", "full@example.pl"]
    assert (bounce.status, bounce.action, bounce.permanent) == ("5.1.1", "failed", True)
    assert bounce.diagnostic == "550 5.1.1 <gone@example.pl>: User unknown"


def test_a_dsn_that_only_says_delayed_is_not_permanent():
    raw = mail(
        f"Subject: Delayed Mail\nContent-Type: {REPORT}",
        "--R\nContent-Type: text/plain\n\nStill trying.\n--R\nContent-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns; mx\n\n"
        "Final-Recipient: rfc822; slow@example.pl\nAction: delayed\nStatus: 4.4.7\n--R--\n",
    )

    bounce = parse_email(raw).classification.bounce

    assert bounce is not None and (bounce.action, bounce.status, bounce.permanent) == (
        "delayed",
        "4.4.7",
        False,
    )


def test_a_mailer_daemons_prose_with_our_headers_quoted_is_a_bounce():
    raw = (
        "From: MAILER-DAEMON@mx.example.pl\nTo: support@rowery.example\n"
        "Subject: Returned mail: see transcript\n\n"
        "----- The following addresses had permanent fatal errors -----\n<nobody@example.pl>\n"
        "    (reason: 550 5.1.1 User unknown)\n\n----- Original message -----\n"
        f"From: support@rowery.example\nMessage-ID: {OUR_ID}\n"
    ).encode()

    bounce = parse_email(raw).classification.bounce

    assert bounce is not None
    assert bounce.original_message_ids == [OUR_ID]
    assert bounce.recipients == ["nobody@example.pl"]
    assert bounce.status == "5.1.1" and bounce.permanent


def test_a_bounce_without_our_message_id_falls_back_to_the_one_it_answers():
    raw = mail(
        f"Subject: Undeliverable: Re: Faktura\nFrom: postmaster@example.pl\nIn-Reply-To: {OUR_ID}",
        "Delivery has failed to these recipients: kasia@example.pl\n550 5.4.1 Recipient address rejected\n",
    )
    raw = raw.replace(b"From: Jan <jan@example.pl>\n", b"", 1)

    bounce = parse_email(raw).classification.bounce

    assert bounce is not None and bounce.original_message_ids == [OUR_ID] and bounce.status == "5.4.1"


def test_a_read_receipt_is_automatic_but_not_a_bounce():
    raw = mail(
        "Subject: Read: Faktura\n"
        'Content-Type: multipart/report; report-type=disposition-notification; boundary="M"',
        "--M\nContent-Type: text/plain\n\nRead.\n--M\nContent-Type: message/disposition-notification\n\n"
        f"Original-Message-ID: {OUR_ID}\nDisposition: manual-action/MDN-sent-manually; displayed\n--M--\n",
    )

    classification = parse_email(raw).classification

    assert classification.read_receipt and classification.auto_reply and classification.bounce is None


def test_mailing_list_mail_is_flagged_with_its_list():
    post = parse_email(mail("Subject: [rowery] Wyprawa\nList-Id: Rowerzyści <rowery.lists.example.org>"))
    newsletter = parse_email(mail("Subject: Promocja\nList-Unsubscribe: <https://x.example/u>"))
    customer = parse_email(mail("Subject: Pytanie"))

    assert post.classification.mailing_list and post.classification.list_id == "rowery.lists.example.org"
    assert newsletter.classification.mailing_list and not newsletter.classification.auto_reply
    assert not customer.classification.mailing_list and not customer.classification.auto_reply
