"""The pieces of a reply's headers that need no server: subject, references, Message-ID, language."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from email.utils import getaddresses
from types import SimpleNamespace

import pytest

from frontdesk.channels.base import OutboundMessage
from frontdesk.channels.email.config import Config
from frontdesk.channels.email.outbound import (
    MAX_REFERENCES,
    build_reply,
    make_message_id,
    pick_language,
    reply_subject,
    thread_references,
)


def outbound(**fields: object) -> OutboundMessage:
    values: dict[str, object] = {
        "delivery_id": 7,
        "message_id": 70,
        "conversation_number": 12,
        "conversation_subject": "Paczka",
        "recipient": "jan@example.org",
        "text": "Hello",
        "html": "",
        "author_name": "Anna",
        "customer_name": "Jan",
        "external_thread_id": "",
        "in_reply_to": "",
        "attachments": [],
        "created_at": dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC),
    }
    values.update(fields)
    return OutboundMessage(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Gdzie jest paczka?", "Re: Gdzie jest paczka? [#12]"),
        ("Re: Re: Gdzie jest paczka?", "Re: Gdzie jest paczka? [#12]"),
        ("RE: AW: Odp: SV: Gdzie", "Re: Gdzie [#12]"),
        ("Re[2]: Gdzie", "Re: Gdzie [#12]"),
        ("Ответ: Где посылка", "Re: Где посылка [#12]"),
        ("Re: Gdzie [#12]", "Re: Gdzie [#12]"),
        ("[#12] Re: Gdzie", "Re: Gdzie [#12]"),
        ("Gdzie [#5]", "Re: Gdzie [#12]"),  # another number would thread the answer elsewhere
        ("Fwd: Gdzie", "Re: Fwd: Gdzie [#12]"),
        ("Line\r\nbreak", "Re: Line break [#12]"),
        ("Reklamacja", "Re: Reklamacja [#12]"),  # a word that starts like "Re" stays
        ("", "Re: Your message [#12]"),
    ],
)
def test_the_subject_carries_one_re_and_one_reference(subject, expected):
    assert reply_subject(subject, 12) == expected


def test_a_message_that_answers_nothing_has_no_re():
    assert reply_subject("Twoje zamówienie", 12, is_reply=False) == "Twoje zamówienie [#12]"


def test_references_keep_the_root_and_the_latest_ids_and_end_with_the_answered_one():
    ids = [f"<m{i}@example.org>" for i in range(50)]

    refs = thread_references(outbound(references=ids, in_reply_to="<m30@example.org>"))

    assert len(refs) == MAX_REFERENCES
    assert refs[0] == "<m0@example.org>"
    assert refs[-1] == "<m30@example.org>"
    assert refs[-2] == "<m49@example.org>"


def test_ids_of_other_channels_are_no_references():
    refs = thread_references(
        outbound(
            references=["order-1001-msg-1", "sha256:abc", "<ok@example.org>", "<bad id@x>"], in_reply_to=""
        )
    )

    assert refs == ["<ok@example.org>"]


def test_every_attempt_of_a_delivery_has_the_same_unguessable_message_id():
    first = make_message_id(outbound(), "rowery.example")

    assert first == make_message_id(outbound(), "rowery.example")
    assert first != make_message_id(outbound(delivery_id=8), "rowery.example")
    assert first.startswith("<20261123100000.") and first.endswith("@rowery.example>")


@pytest.mark.parametrize(
    ("languages", "expected"),
    [
        (("pl", "en"), "Dzień dobry"),
        (("en-GB", "pl"), "Hello"),
        (("de", "pl"), "Dzień dobry"),
        (("de", "fr"), "Dzień dobry"),  # any text rather than none
        (("", ""), "Dzień dobry"),
    ],
)
def test_the_header_in_the_best_language_available(languages, expected):
    assert pick_language({"pl": "Dzień dobry", "en": "Hello"}, *languages) == expected


def test_names_cannot_inject_headers_and_keep_their_letters(settings):
    channel = SimpleNamespace(tenant_id=1, inbound_address="support@rowery.example")
    config = Config(address="support@rowery.example", from_name="Sklep Żółw\r\nBcc: evil@example.com")

    mail, _message_id = build_reply(
        channel, config, outbound(customer_name='Łukasz "Żółw", Jr.\r\nBcc: evil@example.com')
    )
    parsed = email.message_from_bytes(mail.message().as_bytes(), policy=email.policy.default)

    assert parsed["Bcc"] is None
    [(name, address)] = getaddresses([str(parsed["To"])])
    assert (name, address) == ('Łukasz "Żółw", Jr. Bcc: evil@example.com', "jan@example.org")
    assert getaddresses([str(parsed["From"])]) == [
        ("Sklep Żółw Bcc: evil@example.com", "support@rowery.example")
    ]
