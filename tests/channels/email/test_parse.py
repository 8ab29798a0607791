"""Reading raw mail: charsets, encoded headers, addresses, dates, thread keys, attachments, HTML.

The corpus (test_corpus.py) covers whole messages as mail programs write them; these tests pin
down one rule each, with the smallest message that shows it.
"""

from __future__ import annotations

import base64
import datetime as dt

from frontdesk.channels.email.decode import decode_bytes, decode_header, parse_addresses
from frontdesk.channels.email.htmltext import html_to_text
from frontdesk.channels.email.parse import message_id_of, parse_email, unflow


def mail(headers: str, body: str | bytes = "Hello.\n", *, charset: str = "utf-8") -> bytes:
    data = body if isinstance(body, bytes) else body.encode(charset)
    return headers.strip("\n").encode(charset) + b"\n\n" + data


# --- Charsets -------------------------------------------------------------------------------------


def test_a_declared_charset_is_used_and_its_supersets_preferred():
    assert decode_bytes("Zażółć".encode("cp1250"), "windows-1250") == "Zażółć"
    assert decode_bytes("Жёлтый".encode("koi8-r"), "KOI8-R") == "Жёлтый"
    # Mail labelled gb2312 is written in GBK, ks_c_5601-1987 in cp949, Shift_JIS in cp932.
    assert decode_bytes("镕".encode("gbk"), "gb2312") == "镕"
    assert decode_bytes("똠방각하".encode("cp949"), "ks_c_5601-1987") == "똠방각하"
    assert decode_bytes("①".encode("cp932"), "shift_jis") == "①"
    # iso-8859-1 is read as windows-1252: the curly quotes Outlook puts in 0x93/0x94.
    assert decode_bytes(b"\x93quoted\x94", "iso-8859-1") == "\u201cquoted\u201d"


def test_windows_1250_labelled_iso_8859_2_is_recognised_by_its_c1_bytes():
    data = "Świetny sklep, ściągam pedały".encode("cp1250")  # Ś and ś are 0x8C/0x9C in cp1250

    assert decode_bytes(data, "iso-8859-2") == "Świetny sklep, ściągam pedały"


def test_an_unknown_or_missing_charset_falls_back_to_utf8_then_windows_1252():
    defects: list[str] = []

    assert decode_bytes("Dzień dobry".encode(), "x-made-up", defects) == "Dzień dobry"
    assert decode_bytes(b"caf\xe9", None, defects) == "café"
    assert decode_bytes(b"caf\xe9", "us-ascii", defects) == "café"
    assert "undecodable bytes in us-ascii text" in defects


def test_mostly_utf8_with_a_stray_byte_stays_utf8():
    data = "Zamówienie nr 12 – dziękuję".encode() + b"\xff"

    assert decode_bytes(data, "utf-8").startswith("Zamówienie nr 12 – dziękuję")


# --- Headers ------------------------------------------------------------------------------------------


def test_encoded_words_are_decoded_leniently():
    assert decode_header("=?utf-8?q?Gdzie_jest_moja_paczka=3F?=") == "Gdzie jest moja paczka?"
    # Whitespace between encoded-words is not text; a multi-byte character split between two
    # words (Outlook does this) is joined before decoding.
    euro = "€".encode()
    first, second = base64.b64encode(b"Cena 5" + euro[:1]).decode(), base64.b64encode(euro[1:]).decode()
    split = f"=?utf-8?B?{first}?= =?utf-8?B?{second}?="
    assert decode_header(split) == "Cena 5€"
    # No space before the next word, lower-case encoding letter, missing padding.
    assert decode_header("=?UTF-8?b?WmHFvMOzxYLEhw?==?utf-8?q?_ok?=") == "Zażółć ok"
    # An unknown charset in an encoded-word: read as UTF-8.
    assert decode_header("=?x-unknown?Q?Pro=C5=9Bba?=") == "Prośba"


def test_raw_8bit_headers_are_utf8_or_the_messages_own_charset():
    raw = mail(
        "From: Józef <j@example.pl>\nSubject: Łańcuch\nContent-Type: text/plain; charset=iso-8859-2",
        "Treść",
        charset="iso-8859-2",
    )
    parsed = parse_email(raw)

    assert parsed.subject == "Łańcuch"
    assert parsed.from_ is not None and parsed.from_.name == "Józef"
    assert parsed.text == "Treść"


def test_control_characters_and_folding_leave_headers():
    assert decode_header("Re: paczka\r\n\t[#12]\x07") == "Re: paczka [#12]"


def test_addresses_keep_their_names_however_they_are_written():
    found = parse_addresses(
        [
            '"=?utf-8?q?Kowalski=2C_Jan?=" <jan@example.pl>, anna@example.pl (Anna Nowak)',
            "undisclosed-recipients:;",
            "Zofia <ZOFIA@Example.PL>, zofia@example.pl",
            "not an address, <>",
        ]
    )

    assert [(a.name, a.email) for a in found] == [
        ("Kowalski, Jan", "jan@example.pl"),
        ("Anna Nowak", "anna@example.pl"),
        ("Zofia", "ZOFIA@Example.PL"),
    ]


def test_an_address_is_found_even_in_a_header_nothing_else_can_parse():
    assert [a.email for a in parse_addresses(["<<<jan@example.pl>>> ;;; ,,, \x00"])] == ["jan@example.pl"]


# --- Dates and thread keys -----------------------------------------------------------------------------


def test_dates_are_aware_and_broken_ones_are_left_out():
    with_zone = parse_email(mail("From: a@example.pl\nDate: Mon, 23 Nov 2026 10:00:00 +0100 (CET)"))
    without_zone = parse_email(mail("From: a@example.pl\nDate: 23 Nov 2026 10:00:00"))
    broken = parse_email(mail("From: a@example.pl\nDate: yesterday at noon"))

    assert with_zone.date == dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
    assert without_zone.date == dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
    assert broken.date is None and "unreadable Date" in broken.defects


def test_thread_keys_are_normalised_and_ordered_most_recent_first():
    parsed = parse_email(
        mail(
            "From: a@example.pl\nMessage-ID: abc@example.pl\n"
            "In-Reply-To: <third@shop.example>\n"
            "References: <first@shop.example> second@shop.example\n <third@shop.example>\n"
            "Subject: Re: Re: Paczka [#1234] [#99999999999]"
        )
    )

    assert parsed.message_id == "<abc@example.pl>"
    assert parsed.thread_refs == ["<third@shop.example>", "<second@shop.example>", "<first@shop.example>"]
    assert parsed.subject_ref == 1234


def test_the_message_id_read_from_headers_alone_matches_the_parsed_one():
    raw = b"From ignored@envelope Mon Nov 23 10:00:00 2026\nMessage-ID:\n <x.y@example.pl>\nFrom: a@b\n\nx"

    assert message_id_of(raw) == parse_email(raw).message_id == "<x.y@example.pl>"
    assert message_id_of(b"\x00\xff garbage") == ""


def test_signed_reply_addresses_among_recipients_are_candidates():
    parsed = parse_email(
        mail("From: a@example.pl\nTo: Shop <support+c77-abcdef@shop.example>\nCc: other+c5@x.example")
    )

    assert parsed.reply_address_candidates() == [("support+c77-abcdef@shop.example", 77)]
    assert parsed.reply_address_candidates(["support+c78-ghijkl@shop.example"])[1:] == [
        ("support+c78-ghijkl@shop.example", 78)
    ]


# --- Bodies and attachments ------------------------------------------------------------------------


def test_odd_transfer_encodings_are_read():
    qp_with_space = mail(
        "From: a@example.pl\nContent-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: quoted printable",
        "Zam=C3=B3wienie=\n gotowe",
    )
    base64_semicolon = mail(
        "From: a@example.pl\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64;",
        base64.b64encode(b"Gotowe do odbioru").decode(),
    )
    seven_bit_dash = mail(
        "From: a@example.pl\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 7-bit",
        "Zwykły tekst",
    )

    assert parse_email(qp_with_space).text == "Zamówienie gotowe"
    assert parse_email(base64_semicolon).text == "Gotowe do odbioru"
    assert parse_email(seven_bit_dash).text == "Zwykły tekst"


def test_uuencoded_attachments_are_decoded_with_their_name():
    import binascii

    content = b"Specyfikacja roweru\n"
    uu = b"begin 644 spec.txt\n" + binascii.b2a_uu(content) + b"`\nend\n"
    raw = mail(
        'From: a@example.pl\nContent-Type: multipart/mixed; boundary="B"',
        b"--B\nContent-Type: text/plain\n\nW zalaczniku.\n--B\nContent-Type: application/octet-stream\n"
        b"Content-Transfer-Encoding: x-uuencode\n\n" + uu + b"--B--\n",
    )
    parsed = parse_email(raw)

    assert [(a.filename, a.data) for a in parsed.attachments] == [("spec.txt", content)]


def test_attachment_names_come_from_wherever_the_client_put_them():
    raw = mail(
        'From: a@example.pl\nContent-Type: multipart/mixed; boundary="B"',
        "--B\nContent-Type: text/plain\n\nPliki.\n"
        "--B\nContent-Type: application/pdf\nContent-Disposition: attachment;"
        " filename*=utf-8''Faktura%20%C5%BC%C3%B3%C5%82ta.pdf\n\n%PDF\n"
        '--B\nContent-Type: image/png; name="C:\\\\Users\\\\jan\\\\zdj=?utf-8?q?=C4=99cie?=.png"\n\nPNG\n'
        "--B\nContent-Type: image/jpeg\nContent-Location: https://x.example/foto/rower.jpg\n\nJPG\n"
        "--B\nContent-Type: application/vnd.ms-excel\nContent-Disposition: attachment\n\nXLS\n"
        "--B--\n",
    )
    parsed = parse_email(raw)

    assert [(a.filename, a.content_type) for a in parsed.attachments] == [
        ("Faktura żółta.pdf", "application/pdf"),
        ("zdjęcie.png", "image/png"),
        ("rower.jpg", "image/jpeg"),
        ("attachment.xls", "application/vnd.ms-excel"),
    ]


def test_format_flowed_paragraphs_are_joined_but_quotes_and_signatures_kept_apart():
    flowed = "Pierwsza linia \ndruga linia.\n\n> cytat \n> dalej\n-- \nJan"

    assert unflow(flowed) == "Pierwsza linia druga linia.\n\n> cytat dalej\n-- \nJan"


def test_html_only_mail_becomes_readable_text():
    converted = html_to_text(
        "<html><head><style>p{color:red}</style><script>alert(1)</script></head><body>"
        '<div style="display:none">preheader</div><h1>Zamówienie</h1>'
        "<p>Dzień&nbsp;dobry,<br>proszę o <a href='https://shop.example/x'>fakturę</a> &amp; paragon.</p>"
        "<ul><li>rower</li><li>kask</li></ul><pre>  RW-1\n  RW-2</pre>"
        "<table><tr><td>Suma</td><td>100 zł</td></tr></table>"
        '<a href="mailto:jan@example.pl">jan@example.pl</a></body></html>'
    )

    assert converted.text.strip() == (
        "Zamówienie\n\nDzień dobry,\nproszę o fakturę <https://shop.example/x> & paragon.\n\n"
        "- rower\n- kask\n\n  RW-1\n  RW-2\n\nSuma 100 zł\njan@example.pl"
    )
    assert converted.quote_at is None


def test_the_html_converter_marks_where_quoted_history_starts():
    converted = html_to_text(
        '<div>Nowa treść</div><div class="gmail_quote"><div class="gmail_attr">W dniu … napisał(a):</div>'
        "<blockquote>Stara treść</blockquote></div>"
    )

    assert converted.new_text == "Nowa treść"
    assert converted.quoted_text == "W dniu … napisał(a):\n> Stara treść"
    assert converted.quote_marker == "gmail_quote"


# --- Broken input never raises ---------------------------------------------------------------------------


def test_empty_and_headerless_input_is_flagged_not_raised():
    empty = parse_email(b"")
    text_only = parse_email(b"just some words, no headers at all\n")

    assert not empty.has_headers and empty.text == ""
    assert not text_only.has_headers and text_only.text == "just some words, no headers at all"


def test_absurd_nesting_and_part_counts_are_cut_off_with_a_defect():
    deep = b"From: a@example.pl\nSubject: deep\n"
    for level in range(200):
        deep += f'Content-Type: multipart/mixed; boundary="b{level}"\n\n--b{level}\n'.encode()
    deep += b"Content-Type: text/plain\n\nbottom\n"
    many = b'From: a@example.pl\nContent-Type: multipart/mixed; boundary="m"\n\n' + (
        b"--m\nContent-Type: application/octet-stream\n\nx\n" * 1500
    )

    parsed_deep = parse_email(deep)
    parsed_many = parse_email(many)

    assert parsed_deep.subject == "deep" and "nesting too deep" in parsed_deep.defects
    assert "too many parts" in parsed_many.defects and len(parsed_many.attachments) < 1500


def test_forwards_of_forwards_are_followed_to_a_limit():
    raw = b"From: bottom@example.pl\nSubject: bottom\n\nthe end\n"
    for level in range(60):
        raw = (
            b"From: f%d@example.pl\nSubject: level %d\nContent-Type: message/rfc822\n\n" % (level, level)
            + raw
        )

    parsed = parse_email(raw)

    assert parsed.subject == "level 59"
    assert parsed.text.startswith("---------- Forwarded message ----------\nFrom: f58@example.pl")
    assert "nesting too deep" in parsed.defects


def test_a_message_whose_boundary_is_missing_is_read_by_guessing_it():
    raw = mail(
        "From: a@example.pl\nContent-Type: multipart/alternative",
        "--=_Part_77\nContent-Type: text/plain; charset=utf-8\n\nTreść wiadomości\n"
        "--=_Part_77\nContent-Type: text/html; charset=utf-8\n\n<p>Treść wiadomości</p>\n--=_Part_77--\n",
    )
    parsed = parse_email(raw)

    assert parsed.text == "Treść wiadomości"
    assert "guessed multipart boundary" in parsed.defects


def test_the_json_form_has_the_fields_an_operator_debugs_with():
    parsed = parse_email(
        mail(
            "From: Jan <jan@example.pl>\nTo: support@shop.example\nCc: b@example.pl\n"
            "Reply-To: prywatny@example.pl\nSubject: Test [#5]\nMessage-ID: <m@example.pl>\n"
            "Content-Type: text/html; charset=utf-8",
            '<p onclick="steal()">Cześć <script>x()</script><img src="cid:logo"></p>',
        ),
        languages=["pl", "en"],
    )
    data = parsed.to_dict(tenant_id=1)

    assert data["from"] == {"name": "Jan", "email": "jan@example.pl"}
    assert data["reply_to"] == [{"name": "", "email": "prywatny@example.pl"}]
    assert data["thread"]["message_id"] == "<m@example.pl>" and data["thread"]["subject_ref"] == 5
    assert (
        "onclick" not in data["html"] and "<script" not in data["html"] and 'src="cid:logo"' in data["html"]
    )
    assert data["classification"]["auto_reply"] is False and data["classification"]["bounce"] is None
