"""Bytes and header values as found in the wild → text. Nothing here raises on bad input.

Mail declares charsets that do not exist, mislabels windows-1250 as iso-8859-2, puts raw 8-bit
bytes into headers and splits multi-byte characters across RFC 2047 encoded-words. Each function
returns its best reading and, where it had to guess, says so through the `defects` list it is given.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import email.utils
import quopri
import re
from collections.abc import Iterable
from dataclasses import dataclass
from email.headerregistry import AddressHeader
from email.message import Message
from functools import cache

# Declared names → the codecs that really decode such mail, tried in order. Supersets first:
# mail labelled gb2312 or ks_c_5601 is almost always GBK/GB18030 or cp949, iso-8859-1 is windows-1252.
_CHARSET_ALIASES: dict[str, tuple[str, ...]] = {
    "ks_c_5601-1987": ("cp949",),
    "ks_c_5601": ("cp949",),
    "ksc5601": ("cp949",),
    "ksc_5601": ("cp949",),
    "euc-kr": ("cp949",),
    "x-windows-949": ("cp949",),
    "gb2312": ("gb18030",),
    "gbk": ("gb18030",),
    "x-gbk": ("gb18030",),
    "cp936": ("gb18030",),
    "euc-cn": ("gb18030",),
    "chinese": ("gb18030",),
    "csgb2312": ("gb18030",),
    "shift_jis": ("cp932", "shift_jis_2004"),
    "shift-jis": ("cp932", "shift_jis_2004"),
    "sjis": ("cp932",),
    "x-sjis": ("cp932",),
    "ms_kanji": ("cp932",),
    "windows-31j": ("cp932",),
    "iso-2022-jp": ("iso2022_jp", "iso2022_jp_ext", "iso2022_jp_2", "iso2022_jp_3"),
    "csiso2022jp": ("iso2022_jp", "iso2022_jp_ext", "iso2022_jp_2"),
    "euc-jp": ("euc_jp", "euc_jis_2004"),
    "iso-8859-1": ("cp1252",),
    "iso8859-1": ("cp1252",),
    "iso_8859-1": ("cp1252",),
    "latin1": ("cp1252",),
    "latin-1": ("cp1252",),
    "l1": ("cp1252",),
    "us-ascii": ("ascii",),
    "ascii": ("ascii",),
    "ansi_x3.4-1968": ("ascii",),
    "iso-8859-8-i": ("iso-8859-8",),
    "iso-8859-6-i": ("iso-8859-6",),
    "windows-874": ("cp874",),
    "tis-620": ("cp874",),
    "x-mac-roman": ("mac_roman",),
    "macintosh": ("mac_roman",),
    "x-mac-ce": ("mac_latin2",),
    "utf8": ("utf-8",),
    "unicode-1-1-utf-7": ("utf-7",),
    "x-unicode20utf8": ("utf-8",),
    "big5": ("big5hkscs", "cp950"),
    "x-user-defined": ("cp1252",),
    "unknown-8bit": (),
    "x-unknown": (),
    "unknown": (),
    "default": (),
    "charset": (),
}

_CHARSET_JUNK = re.compile(r"[\s\"'`;]+")
_WINDOWS_FOR_ISO = {
    "iso8859-2": "cp1250",
    "iso8859-5": "cp1251",
    "iso8859-9": "cp1254",
    "iso8859-7": "cp1253",
}
_C1_BYTES = re.compile(rb"[\x80-\x9f]")


@cache
def codecs_for(charset: str | None) -> tuple[str, ...]:
    """Python codec names to try for a declared charset, best first; () when it names nothing known."""
    if not charset:
        return ()
    name = _CHARSET_JUNK.sub("", charset).lower()
    # "utf-8*pl" (RFC 2231 language suffix) and "windows-1250 " style noise.
    name = name.split("*", 1)[0]
    if name in _CHARSET_ALIASES:
        return _CHARSET_ALIASES[name]
    try:
        info = codecs.lookup(name)
    except LookupError:
        # "cp-1250", "win-1251", "windows1250" …
        match = re.fullmatch(r"(?:cp|win|windows|x-cp)[-_]?(\d{3,4})", name)
        if match:
            try:
                return (codecs.lookup("cp" + match.group(1)).name,)
            except LookupError:
                return ()
        return ()
    if info.name in ("latin-1", "iso8859-1"):
        return ("cp1252",)
    # Codecs that are not text encodings at all ("base64", "rot13", "zlib"…).
    if not getattr(info, "_is_text_encoding", True):
        return ()
    return (info.name,)


def decode_bytes(
    data: bytes,
    charset: str | None,
    defects: list[str] | None = None,
    *,
    fallbacks: Iterable[str] = (),
) -> str:
    """Text from bytes labelled `charset`: the declared charset, then UTF-8, then `fallbacks`,
    then windows-1252 with replacement characters (which never fails)."""
    if not data:
        return ""
    declared = codecs_for(charset)
    # Outlook Express and friends label windows-125x text as iso-8859-x; C1 controls give it away.
    if declared and declared[0] in _WINDOWS_FOR_ISO and _C1_BYTES.search(data):
        declared = (_WINDOWS_FOR_ISO[declared[0]], *declared)
    tried: list[str] = []
    for codec in (*declared, "utf-8", *(c for f in fallbacks for c in codecs_for(f))):
        if codec in tried:
            continue
        tried.append(codec)
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
    if charset and not declared and defects is not None:
        defects.append(f"unknown charset {charset[:40]!r}")
    # Mostly UTF-8 with a stray byte reads better as UTF-8 with one replacement than as cp1252.
    if (not declared or "utf-8" in declared) and _mostly_utf8(data):
        result = data.decode("utf-8", "replace")
    else:
        result = data.decode("cp1252", "replace")
    if defects is not None:
        defects.append(f"undecodable bytes in {charset or 'undeclared'} text")
    return result


_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
_HIGH_BYTE = re.compile(rb"[\x80-\xff]")


def _mostly_utf8(data: bytes) -> bool:
    high = len(_HIGH_BYTE.findall(data))
    if not high:
        return True
    valid = sum(len(m) for m in _UTF8_SEQUENCE.findall(data))
    return valid >= 0.8 * high


def raw_bytes(value: str) -> bytes:
    """The bytes behind a string the parser produced from bytes (8-bit bytes as surrogates)."""
    try:
        return value.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogateescape")


def has_8bit(value: str) -> bool:
    return not value.isascii()


# --- RFC 2047 encoded-words ---------------------------------------------------------------------

# Lenient: lower-case q/b, RFC 2231 language suffixes, spaces inside (seen from broken encoders).
_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,64})\?([QqBb])\?([^?]*?)\?=")
_FOLD = re.compile(r"\r?\n(?=[ \t])|\r?\n")
_QP_HEX = re.compile(rb"=([0-9A-Fa-f]{2})")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SPACES = re.compile(r"[ \t]+")


def _decode_b(text: str) -> bytes:
    data = re.sub(r"[^A-Za-z0-9+/]", "", text.split("=", 1)[0])
    if len(data) % 4 == 1:
        data = data[:-1]
    data += "=" * (-len(data) % 4)
    try:
        return base64.b64decode(data)
    except (binascii.Error, ValueError):
        return b""


def _decode_q(text: str) -> bytes:
    data = text.replace("_", " ").encode("utf-8", "surrogateescape")
    return _QP_HEX.sub(lambda m: bytes([int(m.group(1), 16)]), data)


def decode_header(value: str | None, defects: list[str] | None = None, *, fallback: str = "") -> str:
    """A header value as text: unfolded, RFC 2047 decoded (leniently), 8-bit bytes decoded as
    UTF-8 or the message's charset (`fallback`), control characters removed."""
    if not value:
        return ""
    value = _FOLD.sub("", str(value))
    if has_8bit(value):
        value = decode_bytes(raw_bytes(value), "utf-8", defects, fallbacks=(fallback,) if fallback else ())
    if "=?" in value:
        value = _decode_encoded_words(value, defects)
    value = _CONTROL.sub("", value)
    return _SPACES.sub(" ", value).strip()


def _decode_encoded_words(value: str, defects: list[str] | None) -> str:
    out: list[str] = []
    pending: bytearray = bytearray()
    pending_charset = ""
    position = 0
    last_was_word = False

    def flush() -> None:
        nonlocal pending, pending_charset
        if pending:
            out.append(decode_bytes(bytes(pending), pending_charset, defects))
        pending = bytearray()
        pending_charset = ""

    for match in _ENCODED_WORD.finditer(value):
        between = value[position : match.start()]
        # Whitespace between two encoded-words is not part of the text (RFC 2047 §6.2).
        if between and not (last_was_word and not between.strip()):
            flush()
            out.append(between)
        charset, encoding, text = match.group(1), match.group(2).upper(), match.group(3)
        charset = charset.split("*", 1)[0]
        data = _decode_b(text) if encoding == "B" else _decode_q(text)
        # Adjacent words in one charset are joined before decoding: encoders split multi-byte
        # characters between them.
        if pending and charset.lower() != pending_charset.lower():
            flush()
        pending_charset = charset
        pending.extend(data)
        position = match.end()
        last_was_word = True
    flush()
    out.append(value[position:])
    return "".join(out)


def decode_param(value: str | None, defects: list[str] | None = None, *, fallback: str = "") -> str:
    """A MIME parameter (file name) the stdlib already RFC 2231-decoded; some clients still put
    encoded-words or raw 8-bit bytes in them."""
    if not value:
        return ""
    return decode_header(value, defects, fallback=fallback)


# --- Addresses -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Address:
    name: str
    email: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "email": self.email}

    def __str__(self) -> str:
        return email.utils.formataddr((self.name, self.email)) if self.name else self.email


_ADDR_SPEC = re.compile(r"^[^\s@<>(),;:\"\[\]]+@[^\s@<>(),;:\"\[\]]+$")
_ADDR_SEPARATORS = re.compile(r"[\s<>(),;:\"\[\]]+")
_ADDR_ANYWHERE = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")


def _clean_email(value: str) -> str:
    value = value.strip().strip("<>").strip()
    return value if _ADDR_SPEC.match(value) else ""


def parse_addresses(
    values: Iterable[str], defects: list[str] | None = None, *, fallback: str = ""
) -> list[Address]:
    """Every address in raw header values (To, Cc…), names decoded. Never raises.

    The stdlib's RFC 5322 parser first; where it stumbles (defects, 8-bit names, comments as
    names) the older `getaddresses` and, last, a plain search for anything shaped like an address.
    """
    found: dict[str, Address] = {}
    for raw in values:
        if not raw or not raw.strip():
            continue
        raw = _FOLD.sub("", raw)
        strict: list[Address] = []
        trouble = has_8bit(raw)
        if not trouble:
            try:
                kwds: dict = {}
                AddressHeader.parse(raw, kwds)
                trouble = bool(kwds.get("defects"))
                for group in kwds["groups"]:
                    for a in group.addresses:
                        address = _clean_email(a.addr_spec)
                        if address:
                            strict.append(Address(_clean_name(a.display_name, address), address))
            except Exception:  # the header parser has its own bugs on hostile input
                trouble = True
        # "jan@example.org (Jan Kowalski)": the name is in a comment, which the stdlib drops.
        if "(" in raw and any(not a.name for a in strict):
            trouble = True
        loose: list[Address] = []
        if trouble or not strict:
            text = decode_bytes(raw_bytes(raw), "utf-8", defects, fallbacks=(fallback,) if fallback else ())
            for name, addr in email.utils.getaddresses([text]):
                address = _clean_email(addr)
                if address:
                    loose.append(Address(_clean_name(decode_header(name, defects), address), address))
            if not loose and not strict:
                # Word by word: the pattern alone would backtrack on long runs without "@".
                loose = [
                    Address("", match.group(0))
                    for word in _ADDR_SEPARATORS.split(text)
                    if "@" in word and len(word) <= 320
                    for match in [_ADDR_ANYWHERE.search(word)]
                    if match
                ]
        names = {a.email.lower(): a.name for a in loose if a.name}
        for a in [*strict, *loose]:
            key = a.email.lower()
            if key not in found:
                found[key] = Address(a.name or names.get(key, ""), a.email)
    return list(found.values())


def _clean_name(name: str, address: str) -> str:
    name = _CONTROL.sub("", name or "").strip().strip("\"'").strip()
    if "=?" in name:
        name = decode_header(name)
    # "jan@example.org <jan@example.org>" says nothing more than the address.
    return "" if name.lower() == address.lower() else _SPACES.sub(" ", name)


# --- Content-Transfer-Encoding ------------------------------------------------------------------


def transfer_encoding(part: Message) -> str:
    """The part's Content-Transfer-Encoding, normalised: "base64", "quoted-printable", "uuencode"
    or "" (identity) — for "7-bit", "8bits", "quoted printable", "base64;" and worse."""
    raw = ""
    for name, value in part.raw_items():
        if name.lower() == "content-transfer-encoding":
            raw = str(value)
    token = re.sub(r"[\s\"';]+", "", raw.lower())
    if "base64" in token:
        return "base64"
    if token.startswith(("quoted", "qp")) or "printable" in token:
        return "quoted-printable"
    if "uue" in token or "uuencode" in token:
        return "uuencode"
    return ""


def raw_payload(part: Message) -> bytes:
    """A leaf's body exactly as received, before any transfer decoding. (get_payload() would
    decode 8-bit bodies with the declared charset, losing the bytes.)"""
    payload = getattr(part, "_payload", None)
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, str):
        return raw_bytes(payload)
    return b""


def payload_bytes(part: Message, defects: list[str] | None = None) -> bytes:
    """The decoded body of a non-multipart part."""
    return decode_transfer(raw_payload(part), transfer_encoding(part), defects)


def decode_transfer(data: bytes, encoding: str, defects: list[str] | None = None) -> bytes:
    """Undo a Content-Transfer-Encoding as `transfer_encoding` names it."""
    if not data:
        return b""
    if encoding == "base64":
        try:
            return binascii.a2b_base64(data)
        except (binascii.Error, ValueError):
            if defects is not None:
                defects.append("broken base64")
            return _decode_b(data.decode("ascii", "replace"))
    if encoding == "quoted-printable":
        return quopri.decodestring(data)
    if encoding == "uuencode":
        return uudecode(data, defects)[1]
    return data


def uudecode(data: bytes, defects: list[str] | None = None) -> tuple[str, bytes]:
    """(file name, content) of a uuencoded block; tolerant of bad line lengths."""
    name = ""
    out = bytearray()
    started = False
    for line in data.splitlines():
        if not started:
            match = re.match(rb"begin\s+[0-7]{3,4}\s+(.+)", line)
            if match:
                name = match.group(1).strip().decode("utf-8", "replace")
                started = True
            continue
        if line.strip() in (b"end", b"`", b""):
            if line.strip() == b"end":
                break
            continue
        try:
            out.extend(binascii.a2b_uu(line))
        except binascii.Error:
            # Some encoders pad badly: decode only the bytes the length character announces.
            length = (((line[0] - 32) & 63) * 4 + 5) // 3
            try:
                out.extend(binascii.a2b_uu(line[:length]))
            except binascii.Error:
                if defects is not None:
                    defects.append("broken uuencoded line")
    return name, bytes(out)
