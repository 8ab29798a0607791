"""Generated MIME — random headers, nested multiparts, random bytes, charsets and transfer
encodings — never makes the parser raise, and what it could read stays right."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frontdesk.channels.email.parse import parse_email

CHARSETS = [
    "utf-8", "us-ascii", "iso-8859-2", "windows-1250", "koi8-r", "gb2312", "shift_jis", "iso-2022-jp",
    "ks_c_5601-1987", "utf-7", "utf-16", "x-unknown", "", "base64", '"utf-8', "rot13", "idna",
]  # fmt: skip
ENCODINGS = [
    "7bit",
    "8bit",
    "base64",
    "quoted-printable",
    "x-uuencode",
    "binary",
    "7-bit",
    " base64; ",
    "bogus",
]
LEAF_TYPES = [
    "text/plain", "text/html", "text/calendar", "text/rfc822-headers", "application/pdf", "image/png",
    "application/ms-tnef", "message/delivery-status", "message/disposition-notification",
    "application/octet-stream", "message/rfc822", "text/enriched", "invalid",
]  # fmt: skip
MULTIPART_TYPES = [
    "mixed",
    "alternative",
    "related",
    "report; report-type=delivery-status",
    "signed",
    "digest",
]

header_names = st.sampled_from(
    ["Subject", "To", "Cc", "Reply-To", "Date", "In-Reply-To", "References", "Auto-Submitted", "Precedence",
     "List-Id", "Content-ID", "Content-Disposition", "Sender", "Return-Path", "X-Autoreply", "Delivered-To"]
)  # fmt: skip
header_values = st.one_of(
    st.text(max_size=80).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.binary(max_size=80),
    st.builds(
        lambda charset, kind, data: f"=?{charset}?{kind}?{data}?=".encode(),
        st.sampled_from(CHARSETS),
        st.sampled_from(["Q", "B", "q", "x"]),
        st.text(alphabet="ABCDEFabcdef0123456789=_+/? ", max_size=30),
    ),
).map(lambda v: v.replace(b"\n", b" ").replace(b"\r", b" "))


@st.composite
def parts(draw: st.DrawFn, depth: int = 0) -> bytes:
    if depth < 3 and draw(st.booleans()):
        boundary = draw(st.text(alphabet="abcXYZ012'()+_,-./:=?", min_size=1, max_size=20))
        children = draw(st.lists(parts(depth + 1), max_size=4))
        # Sometimes the declared boundary is not the one used: a broken multipart.
        used = boundary if draw(st.booleans()) else boundary + "x"
        body = b"".join(b"--" + used.encode() + b"\n" + child + b"\n" for child in children)
        body += b"--" + used.encode() + b"--\n" if draw(st.booleans()) else b""
        kind = draw(st.sampled_from(MULTIPART_TYPES))
        return f'Content-Type: multipart/{kind}; boundary="{boundary}"\n\n'.encode() + body
    content_type, charset = draw(st.sampled_from(LEAF_TYPES)), draw(st.sampled_from(CHARSETS))
    headers = [
        f"Content-Type: {content_type}; charset={charset}".encode(),
        f"Content-Transfer-Encoding: {draw(st.sampled_from(ENCODINGS))}".encode(),
    ]
    if draw(st.booleans()):
        headers.append(b'Content-Disposition: attachment; filename="' + draw(header_values) + b'"')
    headers += [
        draw(header_names).encode() + b": " + draw(header_values) for _ in range(draw(st.integers(0, 2)))
    ]
    body = draw(
        st.one_of(
            st.binary(max_size=300), st.text(max_size=300).map(lambda s: s.encode("utf-8", "surrogatepass"))
        )
    )
    return b"\n".join(headers) + b"\n\n" + body


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    headers=st.lists(st.tuples(header_names, header_values), max_size=8),
    body=parts(),
    crlf=st.booleans(),
)
def test_generated_mime_never_makes_the_parser_raise(
    headers: list[tuple[str, bytes]], body: bytes, crlf: bool
):
    raw = b"From: Jan Kowalski <jan@example.pl>\nMessage-ID: <fixed@example.pl>\nMIME-Version: 1.0\n"
    raw += b"".join(name.encode() + b": " + value + b"\n" for name, value in headers)
    raw += body
    if crlf:
        raw = raw.replace(b"\n", b"\r\n")

    parsed = parse_email(raw, languages=["pl", "en"])

    assert parsed.from_ is not None and parsed.from_.email == "jan@example.pl"
    assert parsed.message_id == "<fixed@example.pl>"
    assert parsed.has_headers
    assert "\x00" not in parsed.text
    json.dumps(parsed.to_dict(tenant_id=1))


@settings(max_examples=100, deadline=None, database=None)
@given(raw=st.binary(max_size=2000))
def test_any_bytes_at_all_give_a_result_not_an_exception(raw: bytes):
    parsed = parse_email(raw)

    assert isinstance(parsed.text, str) and isinstance(parsed.defects, list)
    json.dumps(parsed.to_dict())
