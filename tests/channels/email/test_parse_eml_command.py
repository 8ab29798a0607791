"""`frontdesk parse-eml`: what an operator sees when debugging a message, with no database.

No test here is marked django_db: any database query would fail them.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from frontdesk.channels.email.addresses import reply_address
from frontdesk.cli import main

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "email" / "frontdesk"


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("parse_eml", *args, stdout=out)
    return out.getvalue()


def test_json_output_has_the_normalised_message(capsys):
    main(["parse-eml", str(CORPUS / "replies/gmail_pl.eml"), "--json", "--languages", "pl,en"])

    data = json.loads(capsys.readouterr().out)
    assert data["from"] == {"name": "Jan Kowalski", "email": "jan.kowalski@example.pl"}
    assert data["to"] == [{"name": "Sklep Rowerowy", "email": "support@rowery.example"}]
    assert data["subject"] == "Re: Zwrot roweru – zamówienie RW-1988 [#1043]"
    assert data["date"] == "2026-11-23T12:31:07+01:00"
    assert data["text"].startswith("Dzień dobry,\n\nodesłałem rower kurierem DPD")
    assert data["quoted_text"].startswith("pon., 23 lis 2026 o 10:15 Sklep Rowerowy")
    assert data["strip_method"] == "html:gmail_quote"
    assert 'class="gmail_quote' in data["html"]
    assert data["thread"] == {
        "message_id": "<CAJx7p0Ns4Zp9eQ1mVh3kW5oTq@mail.gmail.com>",
        "in_reply_to": ["<20261123101500.k3x9abmq2fz7hd4lw6ty5npr@rowery.example>"],
        "references": ["<20261123101500.k3x9abmq2fz7hd4lw6ty5npr@rowery.example>"],
        "subject_ref": 1043,
        "reply_address": None,
    }
    assert data["language"] == "pl"
    assert data["classification"]["auto_reply"] is False
    assert data["file"].endswith("gmail_pl.eml")


def test_attachments_are_listed_with_names_types_sizes_and_content_ids():
    data = json.loads(run(str(CORPUS / "structure/outlook_signature_logo_and_pdf.eml"), "--json"))

    assert [
        (a["filename"], a["content_type"], a["content_id"], a["inline"]) for a in data["attachments"]
    ] == [
        ("image001.png", "image/png", "image001.png@01DB4170.A1B2C3D0", True),
        ("Zamówienie 12 rowerów.pdf", "application/pdf", "", False),
    ]
    assert all(a["size"] > 0 and len(a["sha256"]) == 64 for a in data["attachments"])


def test_the_readable_output_shows_a_bounce_and_what_it_reports_on():
    out = run(str(CORPUS / "bounces/exchange_online_ndr.eml"))

    assert "Subject:       Undeliverable: Re: Invoice for order RW-2231 [#1045]" in out
    assert "Kind:          auto-reply, bounce" in out
    assert (
        "Bounce:        failed 5.1.10 e.clark@example.co.uk about "
        "<20261123101500.k3x9abmq2fz7hd4lw6ty5npr@rowery.example>" in out
    )
    assert "Attachment:    original-headers.txt (text/rfc822-headers" in out
    assert "Your message to e.clark@example.co.uk couldn't be delivered." in out


def test_the_readable_output_shows_the_quote_apart():
    out = run(str(CORPUS / "replies/outlook_desktop_pl_windows1250.eml"))

    new, _, quoted = out.partition("--- quoted (html:outlook_separator) ---")
    assert "siodełko nadal skrzypi" in new and "kluczem 6 mm" not in new
    assert quoted.strip().startswith("Od: Sklep Rowerowy <support@rowery.example>")


def test_a_signed_reply_address_is_verified_for_the_tenant_given(tmp_path):
    address = reply_address("support@rowery.example", tenant_id=3, number=12)
    eml = tmp_path / "reply.eml"
    eml.write_bytes(f"From: jan@example.pl\nTo: {address}\nSubject: Re: x\n\nOK\n".encode())

    for_tenant_3 = json.loads(run(str(eml), "--json", "--tenant", "3"))["thread"]["reply_address"]
    for_tenant_4 = json.loads(run(str(eml), "--json", "--tenant", "4"))["thread"]["reply_address"]
    unknown = json.loads(run(str(eml), "--json"))["thread"]["reply_address"]

    assert for_tenant_3 == {"address": address, "number": 12, "verified": True}
    assert for_tenant_4["verified"] is False
    assert unknown["verified"] is None


def test_several_files_give_a_list_and_stdin_is_read_with_a_dash(monkeypatch):
    monkeypatch.setattr(
        sys, "stdin", io.TextIOWrapper(io.BytesIO(b"From: a@example.pl\nSubject: stdin\n\nhi\n"))
    )

    data = json.loads(run(str(CORPUS / "replies/iphone_en.eml"), "-", "--json"))

    assert [d["subject"] for d in data] == ["Re: Pedals [#1057]", "stdin"]


def test_a_file_that_is_not_there_is_a_clear_error():
    with pytest.raises(CommandError, match=r"nothere\.eml: No such file or directory"):
        run("/nonexistent/nothere.eml")


def test_garbage_is_shown_as_having_no_headers_not_as_a_crash():
    data = json.loads(run(str(CORPUS / "charsets/garbage_no_headers.eml"), "--json"))

    assert data["has_headers"] is False
    assert "no headers" in data["defects"]
    assert data["from"] is None
