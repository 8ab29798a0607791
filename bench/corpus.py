#!/usr/bin/env python
"""The shared email corpus of the benchmarks: realistic raw RFC 5322 mails to a shop's support address.

    python bench/corpus.py --count 2000 --seed 1 --out /tmp/corpus

writes OUT/000001.eml … OUT/<count>.eml (sorted names are the delivery order) and OUT/manifest.json:
{"count", "replies", "bytes", "to_address", "seed", …}. `generate(out, count, seed)` does the same
for importers and returns the manifest. Frontdesk's ingest benchmark (bench/ingest.py) and the
peer's (django-helpdesk) loader both read it, so the CLI and the manifest's keys stay stable.

What the mails look like (deterministic for a seed; standard library only, so the peer's virtual
environment runs it too):
- customers (a pool of count/5, at most 50,000) with Polish or English names and addresses, each
  with their own mail program (Gmail, Outlook, Apple Mail on an iPhone, Thunderbird) and sometimes a
  signature; they write more than once;
- multipart/alternative text/plain + text/html as each of those programs writes it: their headers
  (Received, DKIM-Signature, X-Mailer, Thread-Index…), their HTML (Outlook's Word HTML with its
  style sheet, Gmail's divs, Apple's blockquote type="cite", Thunderbird's moz-cite-prefix), UTF-8 in
  quoted-printable or base64, encoded words in headers, RFC 2231 file names;
- about 30% carry an attachment (PDF-looking or JPEG-looking bytes, base64) in multipart/mixed;
  sizes spread over 5–20 KB;
- exactly a quarter (rounded) are replies to an earlier mail of the corpus from the same customer:
  "Re:" / "Odp:" subject, In-Reply-To and References of that thread, and the earlier message quoted
  below the new text (plain "> " quotes or the program's "On … wrote:" / "From: … Sent:" block);
- text from bench/text.py (TextMaker): Zipf-distributed shop vocabulary, Polish (two thirds) and
  English.

Addresses use reserved .example domains (RFC 2606): nothing here can reach a real mailbox, even if a
run queued acknowledgements to them.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import datetime as dt
import html
import json
import random
import sys
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from email.utils import format_datetime, formataddr
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from text import TextMaker  # bench/text.py, imported by path as the peer's loader does

TO_ADDRESS = "support@shop.bench.example"
TO_NAME = {"pl": "Sklep Rowerowy – Obsługa klienta", "en": "Bike Shop Support"}
REPLY_SHARE = 0.25
ATTACHMENT_SHARE = 0.30
MAX_BYTES = 20_000
MIN_BYTES = 5_000
QUOTE_CHARS = 2_500
# Bytes of a mail without attachment: fixed + per_char × UTF-8 bytes of its text (and quote), per
# program (measured on the generator's own output: headers, HTML wrapping, QP/base64 growth).
SIZE_MODEL = {"gmail": (3100, 2.5), "outlook": (6150, 3.2), "apple": (2450, 2.7), "thunderbird": (2300, 2.5)}
# Threads a customer may still answer: the most recently active ones (people answer within days).
RECENT_THREADS = 1000
START = dt.datetime(2024, 9, 2, 7, 30, tzinfo=dt.UTC)

FIRST_NAMES = {
    "pl": (
        ("Anna", "f"), ("Katarzyna", "f"), ("Małgorzata", "f"), ("Agnieszka", "f"), ("Barbara", "f"),
        ("Ewa", "f"), ("Joanna", "f"), ("Magdalena", "f"), ("Zofia", "f"), ("Żaneta", "f"),
        ("Łucja", "f"), ("Dorota", "f"), ("Aleksandra", "f"), ("Marta", "f"), ("Urszula", "f"),
        ("Piotr", "m"), ("Krzysztof", "m"), ("Andrzej", "m"), ("Tomasz", "m"), ("Paweł", "m"),
        ("Michał", "m"), ("Łukasz", "m"), ("Grzegorz", "m"), ("Jakub", "m"), ("Mateusz", "m"),
        ("Wojciech", "m"), ("Bartłomiej", "m"), ("Przemysław", "m"), ("Jarosław", "m"), ("Zbigniew", "m"),
    ),
    "en": (
        ("Emma", "f"), ("Olivia", "f"), ("Sophie", "f"), ("Charlotte", "f"), ("Amelia", "f"),
        ("Grace", "f"), ("Hannah", "f"), ("Lucy", "f"), ("Chloe", "f"), ("Megan", "f"),
        ("James", "m"), ("Oliver", "m"), ("Harry", "m"), ("Jack", "m"), ("George", "m"),
        ("Thomas", "m"), ("William", "m"), ("Daniel", "m"), ("Samuel", "m"), ("Liam", "m"),
    ),
}  # fmt: skip
LAST_NAMES = {
    "pl": (
        ("Nowak", "Nowak"), ("Kowalski", "Kowalska"), ("Wiśniewski", "Wiśniewska"),
        ("Wójcik", "Wójcik"), ("Kowalczyk", "Kowalczyk"), ("Kamiński", "Kamińska"),
        ("Lewandowski", "Lewandowska"), ("Zieliński", "Zielińska"), ("Szymański", "Szymańska"),
        ("Woźniak", "Woźniak"), ("Dąbrowski", "Dąbrowska"), ("Kozłowski", "Kozłowska"),
        ("Jankowski", "Jankowska"), ("Mazur", "Mazur"), ("Krawczyk", "Krawczyk"),
        ("Piotrowski", "Piotrowska"), ("Grabowski", "Grabowska"), ("Nowakowski", "Nowakowska"),
        ("Pawłowski", "Pawłowska"), ("Michalski", "Michalska"), ("Król", "Król"), ("Wieczorek", "Wieczorek"),
        ("Jabłoński", "Jabłońska"), ("Wróbel", "Wróbel"), ("Majewski", "Majewska"), ("Żak", "Żak"),
        ("Olszewski", "Olszewska"), ("Stępień", "Stępień"), ("Górski", "Górska"), ("Rutkowski", "Rutkowska"),
    ),
    "en": tuple((n, n) for n in (
        "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson",
        "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Jackson",
        "Clarke", "Patel", "Hughes", "Edwards", "O'Brien", "Murphy", "Campbell", "Kelly", "Cooper",
    )),
}  # fmt: skip
ASCII = str.maketrans("ąćęłńóśźżĄĆĘŁŃÓŚŹŻ'", "acelnoszzACELNOSZZ_")
FREEMAIL = {
    "pl": ("gmail.example", "wp.example", "onet.example", "interia.example", "o2.example", "op.example"),
    "en": ("gmail.example", "outlook.example", "yahoo.example", "icloud.example", "btinternet.example"),
}
CLIENTS = ("gmail", "gmail", "gmail", "outlook", "outlook", "apple", "thunderbird")
WEEKDAYS = {
    "pl": ("pon.", "wt.", "śr.", "czw.", "pt.", "sob.", "niedz."),
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
}
WEEKDAYS_LONG = {
    "pl": ("poniedziałek", "wtorek", "środa", "czwartek", "piątek", "sobota", "niedziela"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
MONTHS = {
    "pl": ("sty", "lut", "mar", "kwi", "maj", "cze", "lip", "sie", "wrz", "paź", "lis", "gru"),
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}
MONTHS_LONG = {
    "pl": ("stycznia", "lutego", "marca", "kwietnia", "maja", "czerwca", "lipca", "sierpnia", "września",
           "października", "listopada", "grudnia"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"),
}  # fmt: skip
ORDER_LINES = {"pl": "Numer zamówienia: {n}.", "en": "Order number: {n}."}
MOBILE_SENT = {"pl": "Wysłane z iPhone’a", "en": "Sent from my iPhone"}
PDF_NAMES = ("faktura_FV_{n}.pdf", "paragon_{n}.pdf", "scan{n}.pdf", "zgłoszenie reklamacyjne {n}.pdf",
             "invoice-{n}.pdf", "return_form_{n}.pdf")  # fmt: skip
JPEG_NAMES = ("IMG_{n}.JPG", "zdjęcie_{n}.jpg", "uszkodzenie {n}.jpeg", "photo_{n}.jpg", "IMG-{n}-WA0003.jpg")

# Outlook's Word HTML starts with this style sheet in every message (abridged only a little).
OUTLOOK_HEAD = """<html xmlns:v="urn:schemas-microsoft-com:vml" \
xmlns:o="urn:schemas-microsoft-com:office:office" xmlns:w="urn:schemas-microsoft-com:office:word" \
xmlns:m="http://schemas.microsoft.com/office/2004/12/omml" xmlns="http://www.w3.org/TR/REC-html40">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<meta name="Generator" content="Microsoft Word 15 (filtered medium)">
<style><!--
/* Font Definitions */
@font-face
	{font-family:"Cambria Math";
	panose-1:2 4 5 3 5 4 6 3 2 4;}
@font-face
	{font-family:Calibri;
	panose-1:2 15 5 2 2 2 4 3 2 4;}
@font-face
	{font-family:Aptos;}
/* Style Definitions */
p.MsoNormal, li.MsoNormal, div.MsoNormal
	{margin:0cm;
	font-size:11.0pt;
	font-family:"Aptos",sans-serif;
	mso-ligatures:standardcontextual;
	mso-fareast-language:EN-US;}
a:link, span.MsoHyperlink
	{mso-style-priority:99;
	color:#467886;
	text-decoration:underline;}
span.EmailStyle17
	{mso-style-type:personal-compose;
	font-family:"Aptos",sans-serif;
	color:windowtext;}
span.EmailStyle20
	{mso-style-type:personal-reply;
	font-family:"Aptos",sans-serif;
	color:windowtext;}
.MsoChpDefault
	{mso-style-type:export-only;
	font-size:10.0pt;
	mso-ligatures:none;
	mso-fareast-language:EN-US;}
@page WordSection1
	{size:612.0pt 792.0pt;
	margin:70.85pt 70.85pt 70.85pt 70.85pt;}
div.WordSection1
	{page:WordSection1;}
--></style><!--[if gte mso 9]><xml>
<o:shapedefaults v:ext="edit" spidmax="1026" />
</xml><![endif]--><!--[if gte mso 9]><xml>
<o:shapelayout v:ext="edit">
<o:idmap v:ext="edit" data="1" />
</o:shapelayout></xml><![endif]-->
</head>
"""


@dataclass
class Customer:
    name: str
    address: str
    lang: str
    client: str
    signature: str  # "" for none
    utc_offset_hours: int  # winter offset: +1 Poland, 0 United Kingdom


@dataclass
class Thread:
    customer: Customer
    subject: str
    message_ids: list[str] = field(default_factory=list)  # oldest first
    # The newest message's plain text with what it quoted: a reply quotes all of it, as mail
    # programs do (cut to QUOTE_CHARS, so a long thread stays within 20 KB).
    last_text: str = ""
    last_at: dt.datetime = START
    last_from: str = ""


# --- Small helpers -----------------------------------------------------------------------------------


def _hex(rng: random.Random, digits: int) -> str:
    return f"{rng.getrandbits(digits * 4):0{digits}x}"


def _uuid(rng: random.Random) -> str:
    return f"{_hex(rng, 8)}-{_hex(rng, 4)}-{_hex(rng, 4)}-{_hex(rng, 4)}-{_hex(rng, 12)}"


def _html_lines(text: str) -> str:
    return html.escape(text, quote=False).replace("\n", "<br>")


def _b64(rng: random.Random, length: int) -> str:
    return base64.b64encode(rng.randbytes(length)).decode()


def _fold(value: str, width: int = 72, indent: str = "\t") -> str:
    """A long unbroken token (a DKIM b= value) folded over lines, as signers do."""
    return f"\n{indent}".join(value[i : i + width] for i in range(0, len(value), width))


def _local_offset(at: dt.datetime, base_hours: int) -> dt.timezone:
    """EU summer time: from the last Sunday of March to the last Sunday of October, 01:00 UTC."""

    def last_sunday(month: int) -> dt.datetime:
        day = dt.datetime(at.year, month, 31, 1, tzinfo=dt.UTC)
        return day - dt.timedelta(days=(day.weekday() + 1) % 7)

    summer = last_sunday(3) <= at < last_sunday(10)
    return dt.timezone(dt.timedelta(hours=base_hours + (1 if summer else 0)))


_Q_SAFE = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!*+-/")
_Q_BYTE = [chr(b) if b in _Q_SAFE else "_" if b == 32 else f"={b:02X}" for b in range(256)]


class _QTable(dict[int, str]):
    """str.translate table: a character → its "Q" encoding (its UTF-8 bytes, =XX each)."""

    def __missing__(self, code: int) -> str:
        value = "".join(_Q_BYTE[x] for x in chr(code).encode("utf-8"))
        self[code] = value
        return value


_Q_TABLE = _QTable()


def _encoded_words(value: str, *, b: bool = False) -> str:
    """RFC 2047 encoded words of whole characters, at most 75 characters each, folded:
    "=?UTF-8?Q?…?=" as Gmail and Thunderbird write them, "=?utf-8?B?…?=" as Outlook does.
    (email.header does the same, ten times slower: it was most of the generator's time.)"""
    # Words are cut between characters: at an encoded space where possible, else anywhere.
    room = 45 if b else 60  # bytes (B) or encoded characters (Q) per word: 75 with the wrapper

    def size(text: str) -> int:
        return len(text.encode()) if b else len(text)

    words: list[str] = []
    current = ""
    for i, raw in enumerate(value.split(" ")):
        raw = raw if i == 0 else " " + raw
        piece = raw if b else raw.translate(_Q_TABLE)
        if size(piece) > room:  # one long word: cut between its characters
            for char in raw:
                encoded = char if b else char.translate(_Q_TABLE)
                if current and size(current + encoded) > room:
                    words.append(current)
                    current = ""
                current += encoded
            continue
        if current and size(current + piece) > room:
            words.append(current)
            current = ""
        current += piece
    if current:
        words.append(current)
    if b:
        return "\n ".join(f"=?utf-8?B?{base64.b64encode(w.encode()).decode()}?=" for w in words)
    return "\n ".join(f"=?UTF-8?Q?{w}?=" for w in words)


def _encode_header(value: str, *, b: bool = False) -> str:
    """An unstructured header value: as is when ASCII, else encoded words."""
    return value if value.isascii() else _encoded_words(value, b=b)


def _address(name: str, address: str, *, b: bool = False) -> str:
    if name.isascii():
        return formataddr((name, address))
    return f"{_encoded_words(name, b=b)} <{address}>"


def _qp(text: str) -> str:
    # binascii's quoted-printable: soft line breaks at 76, "=" escapes; a mail program's output.
    return binascii.b2a_qp(text.encode("utf-8")).decode("ascii")


def _b64_lines(data: bytes) -> str:
    return base64.encodebytes(data).decode("ascii")


def _rfc2231(filename: str) -> str:
    """Content-Disposition filename parameter; RFC 2231 for non-ASCII names (what Gmail sends)."""
    if filename.isascii():
        return f'filename="{filename}"'
    quoted = "".join(
        chr(b) if b < 128 and (chr(b).isalnum() or chr(b) in "._-") else f"%{b:02X}"
        for b in filename.encode("utf-8")
    )
    return f"filename*=utf-8''{quoted}"


def _paragraphs(text: str, rng: random.Random) -> list[str]:
    """TextMaker writes one paragraph, then the closing: split the body at sentence ends as people do."""
    body, _sep, closing = text.rpartition("\n\n")
    sentences = body.replace("? ", "?\n").replace("! ", "!\n").replace(". ", ".\n").split("\n")
    paragraphs: list[str] = []
    current: list[str] = []
    for sentence in sentences:
        current.append(sentence)
        if len(current) >= 2 and rng.random() < 0.4:
            paragraphs.append(" ".join(current))
            current = []
    if current:
        paragraphs.append(" ".join(current))
    return [*paragraphs, closing]


# --- The generator -----------------------------------------------------------------------------------


class CorpusMaker:
    def __init__(self, count: int, seed: int) -> None:
        self.count = count
        self.seed = seed
        self.rng = random.Random(seed)
        self.text = TextMaker(seed * 7919 + 1)
        self.addresses: set[str] = set()
        self.customers = [self._customer(i) for i in range(max(3, min(50_000, count // 5)))]
        self.threads: OrderedDict[int, Thread] = OrderedDict()
        self.next_thread = 0
        self.at = START
        # Exactly a quarter replies, at random places; the first message cannot be one.
        self.reply_at = (
            set(self.rng.sample(range(1, count), round(count * REPLY_SHARE))) if count > 1 else set()
        )
        self.replies = 0
        self.attachments = 0
        self.with_attachment = False  # decided per message before its program writes it
        self.last_plain = ""  # the plain text part of the message just written

    def _customer(self, index: int) -> Customer:
        rng = self.rng
        lang = self.text.language()
        first, gender = rng.choice(FIRST_NAMES[lang])
        male, female = rng.choice(LAST_NAMES[lang])
        last = female if gender == "f" else male
        style = rng.random()
        local_first, local_last = first.lower().translate(ASCII), last.lower().translate(ASCII)
        if style < 0.45:
            local = f"{local_first}.{local_last}"
        elif style < 0.7:
            local = f"{local_first[0]}{local_last}{rng.randint(1, 99)}"
        elif style < 0.85:
            local = f"{local_last}.{local_first}{rng.randint(1970, 2006)}"
        else:
            local = f"{local_first}_{rng.randint(100, 9999)}"
        if rng.random() < 0.12:
            company = local_last.replace("_", "")  # no underscore in a host name
            domain = f"{company}-{rng.choice(('serwis', 'trade', 'bud', 'logistics', 'studio'))}.example"
        else:
            domain = rng.choice(FREEMAIL[lang])
        # Two people of the same name have two addresses, as mail providers see to.
        address = f"{local}@{domain}"
        while address in self.addresses:
            address = f"{local}{rng.randint(2, 999)}@{domain}"
        self.addresses.add(address)
        name = f"{first} {last}"
        client = rng.choice(CLIENTS)
        signature = ""
        if client == "apple":
            signature = MOBILE_SENT[lang]
        elif rng.random() < 0.35:
            digits = f"{rng.randint(500, 799)} {rng.randint(100, 999)} {rng.randint(100, 999)}"
            phone = f"+{48 if lang == 'pl' else 44} {digits}"
            signature = f"{name}\ntel. {phone}" if lang == "pl" else f"{name}\nMobile: {phone}"
            if domain.endswith("-serwis.example") or "-" in domain:
                signature += f"\n{last} {'Sp. z o.o.' if lang == 'pl' else 'Ltd'}"
        return Customer(name, address, lang, client, signature, 1 if lang == "pl" else 0)

    # one message --------------------------------------------------------------------------------------

    def message(self, index: int) -> bytes:
        rng = self.rng
        self.at += dt.timedelta(seconds=rng.expovariate(1 / 240))  # a mail every 4 minutes on average
        reply_to = self._pick_thread() if index in self.reply_at else None
        if reply_to is None:
            customer = rng.choice(self.customers)
            lang = customer.lang
            subject = self.text.subject(lang)
            thread = Thread(customer, subject)
            thread_id = self.next_thread
            self.next_thread += 1
            own = self.text.message(lang, sentences=(4, 12), order=self._order(lang))
        else:
            thread_id, thread = reply_to
            customer, lang = thread.customer, thread.customer.lang
            self.threads.move_to_end(thread_id)
            own = self.text.message(lang, sentences=(1, 5))
            self.replies += 1
        own = f"{own}\n{customer.name.split()[0]}"
        sent = self.at.astimezone(_local_offset(self.at, customer.utc_offset_hours))
        self.with_attachment = rng.random() < ATTACHMENT_SHARE
        message_id = self._message_id(customer, index)
        writer = getattr(self, f"_{customer.client}")
        quoted = thread if reply_to else None
        floor = MIN_BYTES + rng.randint(0, 1500)
        if not self.with_attachment:
            # A short mail gets what people add: another paragraph of detail. Estimated before
            # writing (each program's fixed bytes, and bytes per character of text in its two
            # parts), so that a mail is written once, not written and written again.
            fixed, per_char = SIZE_MODEL[customer.client]
            quote = len(thread.last_text.encode()) if quoted else 0
            missing = floor - fixed - per_char * (len(own.encode()) + quote)
            if missing > 0:
                own = self._longer(own, lang, missing / per_char)
        raw = writer(customer, quoted, thread.subject, own, sent, message_id)
        if len(raw) + raw.count("\n") < floor and not self.with_attachment:  # the estimate fell short
            own = self._longer(
                own, lang, (floor - len(raw) - raw.count("\n")) / SIZE_MODEL[customer.client][1]
            )
            raw = writer(customer, quoted, thread.subject, own, sent, message_id)
        thread.message_ids.append(message_id)
        history = self.last_plain
        if len(history) > QUOTE_CHARS:
            history = history[: history.rfind("\n", 0, QUOTE_CHARS) + 1 or QUOTE_CHARS].rstrip()
        thread.last_text, thread.last_at, thread.last_from = history, sent, customer.name
        self.threads[thread_id] = thread
        while len(self.threads) > RECENT_THREADS:
            self.threads.popitem(last=False)
        return raw.replace("\n", "\r\n").encode("ascii")

    def _longer(self, own: str, lang: str, characters: float) -> str:
        """`own` with a paragraph of about `characters` more text before its closing."""
        body, _sep, closing = own.rpartition("\n\n")
        more = " ".join(self.text.sentence(lang) for _ in range(1 + int(characters) // 80))
        return f"{body}\n\n{more}\n\n{closing}"

    def _pick_thread(self) -> tuple[int, Thread] | None:
        if not self.threads:
            return None
        # Recent threads more likely: a pick from the newest half of the window, sometimes older.
        keys = list(self.threads.keys())
        start = len(keys) // 2 if self.rng.random() < 0.7 else 0
        thread_id = keys[self.rng.randrange(start, len(keys))]
        return thread_id, self.threads[thread_id]

    def _order(self, lang: str) -> str:
        if self.rng.random() < 0.5:
            return ORDER_LINES[lang].format(
                n=f"{self.rng.randint(2024, 2025)}/{self.rng.randint(10000, 99999)}"
            )
        return ""

    def _message_id(self, customer: Customer, index: int) -> str:
        rng = self.rng
        if customer.client == "gmail":
            return f"<CA{_b64(rng, 30).replace('/', '_').replace('=', '')}{index:x}@mail.gmail.com>"
        if customer.client == "outlook":
            box = f"AM{rng.randint(0, 9)}PR{rng.randint(10, 99)}MB{rng.randint(1000, 9999)}"
            return (
                f"<{box}{_hex(rng, 24).upper()}{index:X}@{box}.eurprd0{rng.randint(1, 9)}.prod.outlook.com>"
            )
        if customer.client == "apple":
            return f"<{_uuid(rng).upper()}{index:x}@{customer.address.split('@')[1]}>"
        return f"<{_uuid(rng)}.{index}@{customer.address.split('@')[1]}>"

    # parts shared by the programs -------------------------------------------------------------------

    def _transport_headers(self, customer: Customer, sent: dt.datetime, relay: str) -> list[str]:
        """Return-Path, Delivered-To, Received chain, DKIM-Signature: what the shop's server adds and
        keeps. A few hundred bytes to 2 KB of every real message."""
        rng = self.rng
        domain = customer.address.split("@")[1]
        received_at = format_datetime(sent + dt.timedelta(seconds=rng.randint(1, 20)))
        queue_id = _hex(rng, 10).upper()
        ip = f"{rng.randint(40, 220)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        timestamp = int(sent.timestamp())
        return [
            f"Return-Path: <{customer.address}>",
            f"Delivered-To: {TO_ADDRESS}",
            f"Received: from {relay} ({relay} [{ip}])\n\tby mx1.shop.bench.example (Postfix) with ESMTPS"
            f" id {queue_id}"
            f"\n\tfor <{TO_ADDRESS}>; {received_at}",
            f"Authentication-Results: mx1.shop.bench.example;\n\tdkim=pass (2048-bit key; unprotected)"
            f" header.d={domain} header.i=@{domain} header.a=rsa-sha256"
            f" header.s=s{rng.randint(2019, 2025)}{rng.randint(1, 12):02d}01"
            f" header.b={_b64(rng, 6)[:8]};\n\tspf=pass (mailfrom) smtp.mailfrom={domain} (client-ip={ip};"
            f" helo={relay};);\n\tdmarc=pass (p=none dis=none) header.from={domain}",
            f"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\n\td={domain}; s=s2024; t={timestamp};"
            f" x={timestamp + 604800}; darn=shop.bench.example;\n\th=to:subject:message-id:date:from"
            f":in-reply-to:references:mime-version\n\t :from:to:cc:subject:date:message-id:reply-to;"
            f"\n\tbh={_b64(rng, 32)};\n\tb={_fold(_b64(rng, 256))}",
        ]

    def _attachment(self, customer: Customer, size_so_far: int) -> tuple[str, str, bytes] | None:
        """(filename, content type, bytes) for ~30% of messages, sized so the mail stays ≤ 20 KB."""
        rng = self.rng
        if not self.with_attachment:
            return None
        room = (MAX_BYTES - size_so_far - 500) * 57 // 78  # base64: 57 bytes per 76-character line
        size = max(800, min(room, rng.randint(1500, 11_000)))
        self.attachments += 1
        number = rng.randint(1000, 99999)
        if rng.random() < 0.55:
            name = rng.choice(PDF_NAMES).format(n=number)
            head = (
                b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<</Type/Catalog/Pages 2 0 R/Lang(pl-PL)>>\nendobj\n"
                b"2 0 obj\n<</Type/Pages/Count 1/Kids[3 0 R]>>\nendobj\n3 0 obj\n<</Type/Page/Parent 2 0 R"
                b"/MediaBox[0 0 595.32 841.92]/Contents 4 0 R>>\nendobj\n4 0 obj\n<</Filter/FlateDecode"
                b"/Length " + str(size).encode() + b">>\nstream\n"
            )
            tail = (
                b"\nendstream\nendobj\nxref\n0 5\n0000000000 65535 f \n"
                b"trailer\n<</Size 5/Root 1 0 R>>\nstartxref\n9\n%%EOF\n"
            )
            data = head + rng.randbytes(max(0, size - len(head) - len(tail))) + tail
            return name, "application/pdf", data
        name = rng.choice(JPEG_NAMES).format(n=number)
        head = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00H\x00H\x00\x00\xff\xdb\x00C\x00" + bytes(
            range(1, 65)
        )
        data = head + rng.randbytes(max(0, size - len(head) - 2)) + b"\xff\xd9"
        return name, "image/jpeg", data

    def _attribution(self, customer: Customer, thread: Thread, style: str) -> str:
        """The line above a quote, in the customer's program's words and language."""
        at, lang, who = thread.last_at, customer.lang, f"{thread.last_from} <{customer.address}>"
        clock = f"{at.hour}:{at.minute:02d}"
        if style == "gmail":
            if lang == "pl":
                day = f"{WEEKDAYS['pl'][at.weekday()]} {at.day} {MONTHS['pl'][at.month - 1]} {at.year}"
                return f"W dniu {day} o {clock} {who} napisał(a):"
            day = f"{WEEKDAYS['en'][at.weekday()]}, {at.day} {MONTHS['en'][at.month - 1]} {at.year}"
            return f"On {day} at {clock}, {who} wrote:"
        if style == "apple":
            if lang == "pl":
                day = f"{at.day} {MONTHS_LONG['pl'][at.month - 1]} {at.year}"
                return f"Wiadomość napisana przez {who} w dniu {day}, o godz. {clock}:"
            return f"On {at.day} {MONTHS_LONG['en'][at.month - 1]} {at.year}, at {clock}, {who} wrote:"
        if lang == "pl":  # Thunderbird
            return f"W dniu {at.day:02d}.{at.month:02d}.{at.year} o {clock}, {thread.last_from} pisze:"
        return f"On {at.day:02d}/{at.month:02d}/{at.year} {clock}, {thread.last_from} wrote:"

    def _subject(self, customer: Customer, thread: Thread | None, subject: str) -> str:
        if thread is None:
            return subject
        if customer.lang == "pl" and customer.client in ("outlook", "thunderbird"):
            return f"Odp: {subject}" if customer.client == "thunderbird" else f"ODP: {subject}"
        return f"Re: {subject}"

    def _threading(self, thread: Thread | None) -> list[str]:
        if thread is None:
            return []
        ids = thread.message_ids
        # References: the root and the last few, as RFC 5322 suggests when trimming.
        refs = ids if len(ids) <= 10 else [ids[0], *ids[-9:]]
        return [f"In-Reply-To: {ids[-1]}", "References: " + "\n ".join(refs)]

    @staticmethod
    def _from(customer: Customer) -> str:
        return _address(customer.name, customer.address, b=customer.client == "outlook")

    def _to(self, customer: Customer) -> str:
        if self.rng.random() < 0.5:
            return TO_ADDRESS
        return _address(TO_NAME[customer.lang], TO_ADDRESS, b=customer.client == "outlook")

    def _assemble(
        self,
        headers: list[str],
        alternative: list[tuple[str, str, str]],
        boundaries: tuple[str, str],
        customer: Customer,
    ) -> str:
        """Headers + multipart/alternative (+ multipart/mixed with an attachment around it)."""
        mixed_boundary, alt_boundary = boundaries
        alt = [
            f"--{alt_boundary}\nContent-Type: {ctype}\nContent-Transfer-Encoding: {cte}\n\n{body}"
            for ctype, cte, body in alternative
        ]
        alt_body = "\n".join(alt) + f"\n--{alt_boundary}--\n"
        head = "\n".join(headers)
        size = len(head) + len(alt_body) + head.count("\n") + alt_body.count("\n")  # CRLF on disk
        attachment = self._attachment(customer, size)
        if attachment is None:
            return f'{head}\nContent-Type: multipart/alternative; boundary="{alt_boundary}"\n\n{alt_body}'
        name, ctype, data = attachment
        filename = _rfc2231(name)
        name_param = f'name="{name}"' if name.isascii() else f'name="{_encoded_words(name)}"'
        return (
            f'{head}\nContent-Type: multipart/mixed; boundary="{mixed_boundary}"\n\n'
            f"--{mixed_boundary}\n"
            f'Content-Type: multipart/alternative; boundary="{alt_boundary}"\n\n{alt_body}\n'
            f"--{mixed_boundary}\nContent-Type: {ctype}; {name_param}\n"
            f"Content-Disposition: attachment; {filename}\nContent-Transfer-Encoding: base64\n"
            f"X-Attachment-Id: f_{_hex(self.rng, 9)}\n\n{_b64_lines(data)}--{mixed_boundary}--\n"
        )

    # the programs -------------------------------------------------------------------------------------

    def _plain(self, customer: Customer, own: str, quote: str) -> str:
        text = own
        if customer.signature and customer.client != "apple":
            text += f"\n\n-- \n{customer.signature}"
        elif customer.client == "apple":
            text += f"\n\n{customer.signature}"
        self.last_plain = text + quote
        return self.last_plain

    @staticmethod
    def _quoted_lines(text: str) -> str:
        return "\n".join(f"> {line}" if line else ">" for line in text.split("\n"))

    def _gmail(
        self,
        customer: Customer,
        thread: Thread | None,
        subject: str,
        own: str,
        sent: dt.datetime,
        message_id: str,
    ) -> str:
        rng = self.rng
        paragraphs = _paragraphs(own, rng)
        html_own = "".join(
            f"<div>{html.escape(p, quote=False).replace(chr(10), '<br>')}</div><div><br></div>"
            for p in paragraphs
        )
        quote_plain = quote_html = ""
        if thread is not None:
            attribution = self._attribution(customer, thread, "gmail")
            quote_plain = f"\n\n{attribution}\n\n{self._quoted_lines(thread.last_text)}\n"
            quoted = "".join(
                f"<div>{html.escape(p, quote=False)}</div>" for p in thread.last_text.split("\n") if p
            )
            quote_html = (
                f'<br><div class="gmail_quote gmail_quote_container"><div dir="ltr" class="gmail_attr">'
                f'{html.escape(attribution, quote=False)}<br></div><blockquote class="gmail_quote" '
                f'style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex">'
                f'<div dir="ltr">{quoted}</div></blockquote></div>'
            )
        signature_html = ""
        if customer.signature:
            lines = "<br>".join(html.escape(x, quote=False) for x in customer.signature.split("\n"))
            signature_html = (
                '<br clear="all"><br><span class="gmail_signature_prefix">-- </span><br>'
                '<div dir="ltr" class="gmail_signature" data-smartmail="gmail_signature">'
                f'<div dir="ltr">{lines}</div></div>'
            )
        page = f'<div dir="ltr">{html_own}{signature_html}</div>{quote_html}\n'
        boundary = f"000000000000{_hex(rng, 12)}"
        headers = [
            *self._transport_headers(customer, sent, f"mail-ej1-f{rng.randint(41, 99)}.google.example"),
            f"X-Google-DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\n\td=1e100.net; s=20230601;"
            f" t={int(sent.timestamp())};\n\tbh={_b64(rng, 32)};\n\tb={_fold(_b64(rng, 256))}",
            f"X-Gm-Message-State: {_fold(_b64(rng, 90), 70)}",
            f"X-Google-Smtp-Source: {_b64(rng, 66)}",
            f"X-Received: by 2002:a17:907:{_hex(rng, 4)}:b0:{_hex(rng, 3)}:{_hex(rng, 4)} with SMTP id"
            f" {_hex(rng, 12)}mr{rng.randint(1000000, 9999999)}ejb.{rng.randint(10, 99)};"
            f"\n\t{format_datetime(sent)}",
            "MIME-Version: 1.0",
            *self._threading(thread),
            f"From: {self._from(customer)}",
            f"Date: {format_datetime(sent)}",
            f"Message-ID: {message_id}",
            f"Subject: {_encode_header(self._subject(customer, thread, subject))}",
            f"To: {self._to(customer)}",
        ]
        alternative = [
            ('text/plain; charset="UTF-8"', "quoted-printable", _qp(self._plain(customer, own, quote_plain))),
            ('text/html; charset="UTF-8"', "quoted-printable", _qp(page)),
        ]
        return self._assemble(headers, alternative, (f"000000000000{_hex(rng, 12)}", boundary), customer)

    def _outlook(
        self,
        customer: Customer,
        thread: Thread | None,
        subject: str,
        own: str,
        sent: dt.datetime,
        message_id: str,
    ) -> str:
        rng = self.rng
        lang = customer.lang
        paragraphs = _paragraphs(own, rng)
        mso = '<p class="MsoNormal"><o:p>&nbsp;</o:p></p>\n'
        html_own = mso.join(
            f'<p class="MsoNormal"><span lang="{lang.upper()}">{_html_lines(p)}<o:p></o:p></span></p>\n'
            for p in paragraphs
        )
        quote_plain = quote_html = ""
        if thread is not None:
            at = thread.last_at
            labels = ("Od", "Wysłane", "Do", "Temat") if lang == "pl" else ("From", "Sent", "To", "Subject")
            day = f"{WEEKDAYS_LONG[lang][at.weekday()]}, {at.day} {MONTHS_LONG[lang][at.month - 1]} {at.year}"
            when = f"{day} {at.hour}:{at.minute:02d}"
            fields = (f"{thread.last_from} <{customer.address}>", when, TO_ADDRESS, subject)
            quote_plain = "\n\n" + "\n".join(f"{k}: {v}" for k, v in zip(labels, fields, strict=True))
            quote_plain += f"\n\n{thread.last_text}\n"
            header_html = "<br>\n".join(
                f"<b>{k}:</b> {html.escape(v, quote=False)}" for k, v in zip(labels, fields, strict=True)
            )
            quoted = "\n".join(
                f'<p class="MsoNormal">{html.escape(p, quote=False)}<o:p></o:p></p>'
                for p in thread.last_text.split("\n")
                if p
            )
            quote_html = (
                '<p class="MsoNormal"><o:p>&nbsp;</o:p></p>\n'
                '<div style="border:none;border-top:solid #E1E1E1 1.0pt;'
                f'padding:3.0pt 0cm 0cm 0cm">\n<p class="MsoNormal"><span lang="{lang.upper()}">{header_html}'
                f'<o:p></o:p></span></p>\n</div>\n<p class="MsoNormal"><o:p>&nbsp;</o:p></p>\n{quoted}\n'
            )
        signature_html = ""
        if customer.signature:
            lines = "<br>".join(html.escape(x, quote=False) for x in customer.signature.split("\n"))
            empty = '<p class="MsoNormal"><o:p>&nbsp;</o:p></p>\n'
            signature_html = f'{empty}<p class="MsoNormal">-- <br>{lines}<o:p></o:p></p>\n'
        language = "pl-PL" if lang == "pl" else "en-GB"
        page = (
            f'{OUTLOOK_HEAD}<body lang="{lang.upper()}" link="#467886" vlink="#96607D"'
            ' style="word-wrap:break-word">\n'
            f'<div class="WordSection1">\n{html_own}{signature_html}{quote_html}</div>\n</body>\n</html>\n'
        )
        marker = _hex(rng, 8).upper()
        boundary = f"_000_{marker}{message_id[1:20].replace('@', '')}_"
        headers = [
            *self._transport_headers(
                customer,
                sent,
                f"mail-{rng.choice(('am', 'db', 'vi'))}{rng.randint(1, 9)}eur0{rng.randint(1, 5)}"
                ".outbound.protection.outlook.example",
            ),
            "ARC-Seal: i=1; a=rsa-sha256; s=arcselector10001; d=microsoft.com; cv=none;"
            f"\n\tb={_fold(_b64(rng, 256))}",
            f"X-MS-Exchange-AntiSpam-MessageData-0: {_fold(_b64(rng, 300))}",
            f"X-Forefront-Antispam-Report: CIP:255.255.255.255;CTRY:;LANG:{lang};SCL:1;SRV:;IPV:NLI;SFV:NSPM;"
            f"H:{message_id[1:14]};"
            "PTR:;CAT:NONE;SFS:(13230040)(366016)(1800799024)(376014)(38070700018);DIR:OUT;SFP:1102;",
            f"X-MS-Exchange-CrossTenant-Network-Message-Id: {_uuid(rng)}",
            "X-MS-Exchange-CrossTenant-originalarrivaltime: "
            f"{sent.astimezone(dt.UTC).strftime('%d %b %Y %H:%M:%S.%f')[:-3]} (UTC)",
            f"From: {self._from(customer)}",
            f"To: {self._to(customer)}",
            f"Subject: {_encode_header(self._subject(customer, thread, subject), b=True)}",
            f"Thread-Topic: {_encode_header(subject, b=True)}",
            f"Thread-Index: {_b64(rng, 22 + 5 * len(thread.message_ids) if thread else 22)}",
            f"Date: {format_datetime(sent)}",
            f"Message-ID: {message_id}",
            *self._threading(thread),
            f"Accept-Language: {language}, en-US",
            f"Content-Language: {language}",
            f"X-MS-Has-Attach: {'yes' if self.with_attachment else ''}",
            "X-MS-TNEF-Correlator:",
            "MIME-Version: 1.0",
        ]
        alternative = [
            (
                'text/plain; charset="utf-8"',
                "base64",
                _b64_lines(self._plain(customer, own, quote_plain).encode()),
            ),
            ('text/html; charset="utf-8"', "base64", _b64_lines(page.encode())),
        ]
        return self._assemble(headers, alternative, (f"_004_{marker}_", boundary), customer)

    def _apple(
        self,
        customer: Customer,
        thread: Thread | None,
        subject: str,
        own: str,
        sent: dt.datetime,
        message_id: str,
    ) -> str:
        rng = self.rng
        paragraphs = _paragraphs(own, rng)
        html_own = '<div dir="ltr"></div>'.join(
            f'<div dir="ltr">{_html_lines(p)}</div><div dir="ltr"><br></div>' for p in paragraphs
        )
        quote_plain = quote_html = ""
        if thread is not None:
            attribution = self._attribution(customer, thread, "apple")
            quote_plain = f"\n\n{attribution}\n\n{self._quoted_lines(thread.last_text)}\n"
            quoted = "<br>".join(html.escape(line, quote=False) for line in thread.last_text.split("\n"))
            quote_html = (
                '<div dir="ltr"><br><blockquote type="cite">'
                f"{html.escape(attribution, quote=False)}<br><br></blockquote></div>"
                f'<blockquote type="cite"><div dir="ltr">{quoted}</div></blockquote>'
            )
        sig = f'<div dir="ltr">{html.escape(customer.signature, quote=False)}</div>'
        page = (
            '<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8"></head>'
            f'<body dir="auto">{html_own}{sig}{quote_html}</body></html>\n'
        )
        uuid = f"{_hex(rng, 8)}-{_hex(rng, 4)}-{_hex(rng, 4)}-{_hex(rng, 4)}-{_hex(rng, 12)}".upper()
        headers = [
            *self._transport_headers(customer, sent, f"st43p00im-ztdg{_hex(rng, 5)}.me.example"),
            "Content-Transfer-Encoding: 7bit",
            f"From: {self._from(customer)}",
            "Mime-Version: 1.0 (1.0)",
            f"Subject: {_encode_header(self._subject(customer, thread, subject))}",
            f"Date: {format_datetime(sent)}",
            f"Message-Id: {message_id}",
            *self._threading(thread),
            f"To: {self._to(customer)}",
            f"X-Mailer: iPhone Mail ({rng.choice(('21D61', '21E236', '22A3354', '22B83'))})",
        ]
        alternative = [
            ("text/plain; charset=utf-8", "quoted-printable", _qp(self._plain(customer, own, quote_plain))),
            ("text/html; charset=utf-8", "quoted-printable", _qp(page)),
        ]
        return self._assemble(
            headers, alternative, (f"Apple-Mail-{uuid}-mixed", f"Apple-Mail-{uuid}"), customer
        )

    def _thunderbird(
        self,
        customer: Customer,
        thread: Thread | None,
        subject: str,
        own: str,
        sent: dt.datetime,
        message_id: str,
    ) -> str:
        rng = self.rng
        paragraphs = _paragraphs(own, rng)
        html_own = "".join(
            f"    <p>{html.escape(p, quote=False).replace(chr(10), '<br>' + chr(10) + '      ')}</p>\n"
            for p in paragraphs
        )
        quote_plain = quote_html = ""
        if thread is not None:
            attribution = self._attribution(customer, thread, "thunderbird")
            quote_plain = f"\n\n{attribution}\n{self._quoted_lines(thread.last_text)}\n"
            quoted = "".join(
                f"      <p>{html.escape(p, quote=False)}</p>\n" for p in thread.last_text.split("\n") if p
            )
            quote_html = (
                f'    <div class="moz-cite-prefix">{html.escape(attribution, quote=False)}<br>\n    </div>\n'
                f'    <blockquote type="cite" cite="mid:{thread.message_ids[-1][1:-1]}">\n'
                f"{quoted}    </blockquote>\n"
            )
        signature_html = ""
        if customer.signature:
            signature = html.escape(customer.signature, quote=False)
            signature_html = f'    <pre class="moz-signature" cols="72">-- \n{signature}</pre>\n'
        page = (
            "<!DOCTYPE html>\n<html>\n  <head>\n"
            '    <meta http-equiv="Content-Type" content="text/html; charset=UTF-8">\n'
            f"  </head>\n  <body>\n{html_own}{signature_html}{quote_html}  </body>\n</html>\n"
        )
        boundary = f"------------{_b64(rng, 18).replace('/', 'x').replace('+', 'y')}"
        headers = [
            *self._transport_headers(
                customer, sent, f"smtp{rng.randint(1, 9)}.{customer.address.split('@')[1]}"
            ),
            f"Message-ID: {message_id}",
            f"Date: {format_datetime(sent)}",
            "MIME-Version: 1.0",
            f"User-Agent: Mozilla Thunderbird {rng.choice(('115.15.0', '128.3.1', '128.5.2'))}",
            f"Content-Language: {customer.lang}",
            f"To: {self._to(customer)}",
            f"From: {self._from(customer)}",
            f"Subject: {_encode_header(self._subject(customer, thread, subject))}",
            *self._threading(thread),
        ]
        alternative = [
            (
                "text/plain; charset=UTF-8; format=flowed",
                "quoted-printable",
                _qp(self._plain(customer, own, quote_plain)),
            ),
            ("text/html; charset=UTF-8", "quoted-printable", _qp(page)),
        ]
        return self._assemble(headers, alternative, (f"------------{_hex(rng, 24)}", boundary), customer)


# --- Writing the corpus ------------------------------------------------------------------------------


def generate(out: Path, count: int, seed: int = 1) -> dict[str, object]:
    """Write the corpus to `out` (created if missing; existing .eml files there are replaced) and
    return its manifest, also written to out/manifest.json."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.eml"):
        old.unlink()
    started, cpu = time.perf_counter(), time.process_time()
    total = 0
    making = 0.0  # the mails without the files: creating a file costs ~0.5 ms on some disks
    width = max(6, len(str(count)))
    maker = CorpusMaker(count, seed)
    for index in range(count):
        before = time.perf_counter()
        raw = maker.message(index)
        making += time.perf_counter() - before
        (out / f"{index + 1:0{width}d}.eml").write_bytes(raw)
        total += len(raw)
    manifest: dict[str, object] = {
        "count": count,
        "replies": maker.replies,
        "bytes": total,
        "to_address": TO_ADDRESS,
        "seed": seed,
        "attachments": maker.attachments,
        "customers": len(maker.customers),
        "generator_seconds": round(time.perf_counter() - started, 3),
        # CPU time too: on a shared machine the wall clock says more about the neighbours.
        "generator_cpu_seconds": round(time.process_time() - cpu, 3),
        "making_seconds": round(making, 3),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=2000, help="how many mails (2000)")
    parser.add_argument("--seed", type=int, default=1, help="same seed, same bytes (1)")
    parser.add_argument("--out", required=True, help="folder to write NNNNNN.eml and manifest.json to")
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be at least 1")
    manifest = generate(Path(args.out), args.count, args.seed)
    seconds = float(manifest["generator_seconds"])  # type: ignore[arg-type]
    making = float(manifest["making_seconds"])  # type: ignore[arg-type]
    size = int(manifest["bytes"]) / args.count / 1024  # type: ignore[call-overload]
    print(
        f"{args.count} mails ({manifest['replies']} replies, {manifest['attachments']} with an attachment, "
        f"{size:.1f} KiB average) in {args.out}: {seconds:g} s, {args.count / max(seconds, 1e-9):.0f} "
        f"mails/s with the files, {args.count / max(making, 1e-9):.0f} mails/s made"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
