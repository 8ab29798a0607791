"""Every message of the corpus (tests/fixtures/email) reads as its expected-results file says.

Each `<message>.expected.json` names the essential fields a person checked by reading the message:
sender, subject, how the text starts, whether quoted history was split off, attachments, the
auto-reply/bounce/list classification, thread keys and the language.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from frontdesk.channels.email.parse import ParsedEmail, parse_email

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "email"
# The languages the corpus is told to tell apart (a shop's would be fewer).
LANGUAGES = ["en", "pl", "ru", "de", "fr", "es", "it", "ja", "zh", "ko"]

CASES = sorted(CORPUS.rglob("*.expected.json"))


def _message_path(expected: Path) -> Path:
    return expected.with_name(expected.name.removesuffix(".expected.json"))


def _id(expected: Path) -> str:
    return str(_message_path(expected).relative_to(CORPUS))


def test_the_corpus_has_at_least_a_hundred_messages_each_with_expectations():
    messages = [
        p
        for p in CORPUS.rglob("*")
        if p.is_file()
        and not p.name.endswith((".json", ".md", ".py", ".gitattributes"))
        and "LICENSE" not in p.name.upper()
    ]
    with_expectations = {_message_path(e) for e in CASES}

    assert len(CASES) >= 100
    assert set(messages) - with_expectations == set()


@pytest.mark.parametrize("expected_file", CASES, ids=_id)
def test_a_corpus_message_reads_as_expected(expected_file: Path):
    expected = json.loads(expected_file.read_text(encoding="utf-8"))
    parsed = parse_email(_message_path(expected_file).read_bytes(), languages=LANGUAGES)

    check(parsed, expected)


def check(parsed: ParsedEmail, expected: dict[str, Any]) -> None:
    for key, want in expected.items():
        if key == "from":
            assert (parsed.from_.email if parsed.from_ else "") == want, key
        elif key == "from_name":
            assert (parsed.from_.name if parsed.from_ else "") == want, key
        elif key == "sender_address":
            assert (parsed.sender.email if parsed.sender else "") == want, key
        elif key == "reply_to":
            assert [a.email for a in parsed.reply_to] == want, key
        elif key == "subject":
            assert parsed.subject == want
        elif key == "date":
            assert (parsed.date.isoformat() if parsed.date else None) == want
        elif key == "text_start":
            if want:
                assert parsed.text.startswith(want), parsed.text[: len(want) + 80]
            else:
                assert parsed.text.strip() == ""
        elif key == "text_contains":
            for fragment in want:
                assert fragment in parsed.text, fragment
        elif key == "text_not_contains":
            for fragment in want:
                assert fragment not in parsed.text, fragment
        elif key == "quoted":
            assert bool(parsed.quoted_text) == want, parsed.quoted_text[:200] or parsed.text[-300:]
        elif key == "quoted_start":
            assert parsed.quoted_text.startswith(want), parsed.quoted_text[: len(want) + 80]
        elif key == "quoted_contains":
            for fragment in want:
                assert fragment in parsed.quoted_text, fragment
        elif key == "text_from_html":
            assert parsed.text_from_html == want
        elif key == "html":
            assert bool(parsed.html.strip()) == want, key
        elif key == "language":
            assert parsed.language == want, key
        elif key == "attachments":
            got = [a.to_dict() for a in parsed.attachments]
            assert len(got) == len(want), [(a["filename"], a["content_type"]) for a in got]
            for have, should in zip(got, want, strict=True):
                for field, value in should.items():
                    assert have[field] == value, (field, have)
        elif key == "auto_reply":
            assert parsed.classification.auto_reply == want, parsed.classification.reasons
        elif key == "reasons_contain":
            for reason in want:
                assert reason in parsed.classification.reasons, parsed.classification.reasons
        elif key == "read_receipt":
            assert parsed.classification.read_receipt == want
        elif key == "delivery_report":
            assert parsed.classification.delivery_report == want
        elif key == "mailing_list":
            assert parsed.classification.mailing_list == want
        elif key == "list_id":
            assert parsed.classification.list_id == want
        elif key == "bounce":
            _check_bounce(parsed, want)
        elif key == "message_id":
            assert parsed.message_id == want
        elif key == "in_reply_to":
            assert parsed.in_reply_to == want
        elif key == "references":
            assert parsed.references == want
        elif key == "thread_refs":
            assert parsed.thread_refs == want
        elif key == "subject_ref":
            assert parsed.subject_ref == want
        elif key == "reply_address_number":
            candidates = parsed.reply_address_candidates()
            assert (candidates[0][1] if candidates else None) == want
        elif key == "has_headers":
            assert parsed.has_headers == want
        elif key == "forwarded_subjects":
            assert [f["subject"] for f in parsed.forwarded] == want
        elif key == "defects_contain":
            for defect in want:
                assert defect in parsed.defects, parsed.defects
        else:
            raise AssertionError(f"unknown expectation {key!r}")


def _check_bounce(parsed: ParsedEmail, want: dict[str, Any] | None) -> None:
    bounce = parsed.classification.bounce
    if want is None:
        assert bounce is None, bounce
        return
    assert bounce is not None, parsed.classification.reasons
    for field, value in want.items():
        if field == "diagnostic_start":
            assert bounce.diagnostic.startswith(value), bounce.diagnostic
        elif field == "permanent":
            assert bounce.permanent == value
        else:
            assert getattr(bounce, field) == value, field
