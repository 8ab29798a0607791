"""Reply stripping: what the customer wrote now, apart from the history their client quoted.

HTML structure first (htmltext.py finds Gmail's gmail_quote, <blockquote type="cite">, Outlook's
divRplyFwdMsg…), then text patterns: the attribution lines of mail-parser-reply's languages plus
our own Polish and Russian ones, Outlook's header blocks ("From: … Sent: …", "Od: … Wysłane: …",
"От: … Отправлено: …"), "-----Original Message-----" separators, blocks of "> " lines and mobile
signatures ("Sent from my iPhone"). Forwarded messages are not history: they stay in the text.
Stripping never leaves nothing: a message that is all quote keeps its whole text.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from functools import cache

from mailparser_reply.constants import GENERIC_MAIL_SEPARATOR, MAIL_LANGUAGES

from .htmltext import HtmlText, tidy

# Stripping looks at the start of long texts only: a reply is rarely further down than this.
MAX_SCAN_CHARS = 200_000

_Q = r"(?:>[ \t]?)*"  # quote markers before an attribution that is itself quoted
_VERBS = (
    r"wrote|writes|napisał\(a\)|napisała|napisał|napisal\(a\)|napisal|pisze|nadesłał|пишет|написал\(а\)|"
    r"написала|написал|schrieb|a\s+écrit|escribió|ha\s+scritto|schreef|skrev|napsal\(a\)|napsal|kirjoitti"
)

_FROM = r"From|Od|От|Von|De|Van|Från|Fra|Da|Kimden|Lähettäjä|Feladó"
_SENT = (
    r"Sent|Date|Wysłane|Wysłano|Data|Отправлено|Дата|Gesendet|Datum|Envoyé|Date\s+d'envoi|Verzonden|"
    r"Skickat|Sendt|Inviato|Enviado|Fecha|Gönderildi|Tarih|Lähetetty|Küldve|Odesláno"
)
_SEPARATOR_WORDS = (
    r"Original\s+Message|Ursprüngliche\s+Nachricht|Message\s+d'origine|Wiadomość\s+oryginalna|"
    r"Oryginalna\s+wiadomość|Wiadomosc\s+oryginalna|Oryginalna\s+wiadomosc|Исходное\s+сообщение|"
    r"Mensaje\s+original|Messaggio\s+originale|Oorspronkelijk\s+bericht|Původní\s+zpráva|"
    r"Originalmeddelelse|Ursprungligt\s+meddelande|Alkuperäinen\s+viesti"
)


def _attribution(start: str, verbs: str) -> str:
    """An attribution line starting with `start`, wrapped over at most three lines, ending with a verb
    and a colon ("On Mon, 1 Jan 2024 at 10:00, Jan <jan@x> wrote:")."""
    return rf"^{_Q}[ \t]*(?:{start})\b(?:[^\n]|\n(?![ \t]*\n)){{0,400}}?(?:{verbs})\b[^\n:]{{0,200}}:[ \t]*$"


# (name, pattern, strength). Strong patterns cut where they match; weak ones (no telltale first
# word) only when quoted lines follow them.
_OWN_PATTERNS: tuple[tuple[str, str, bool], ...] = (
    ("en_wrote", _attribution(r"On", r"wrote"), True),
    ("fr_wrote", _attribution(r"Le", r"a\s+écrit"), True),
    ("de_wrote", _attribution(r"Am", r"schrieb"), True),
    (
        "pl_wrote",
        _attribution(r"W\s+dniu|Dnia", r"pisze|napisał\(a\)|napisała|napisał|napisal\(a\)|napisal"),
        True,
    ),
    # Apple Mail in Polish: "Wiadomość napisana przez Jan <jan@x> w dniu 23.11.2026, o godz. 10:00:"
    ("pl_apple", rf"^{_Q}[ \t]*Wiadomość napisana przez\b[^\n]{{0,300}}(?:\n[^\n]{{0,200}})?:[ \t]*$", True),
    (
        "separator",
        rf"^{_Q}[ \t]*[-_=]{{2,}}[ \t]*(?:{_SEPARATOR_WORDS})[ \t]*[-_=]{{2,}}[ \t]*$",
        True,
    ),
    (
        "outlook_headers",
        rf"^{_Q}[ \t]*\*?(?:{_FROM})\*?[ \t]*:[ \t]*\*?[^\n]{{1,300}}\n"
        rf"(?:{_Q}[^\n]{{0,300}}\n){{0,2}}?{_Q}[ \t]*\*?(?:{_SENT})\*?[ \t]*:",
        True,
    ),
    # "1 янв. 2024 г., в 10:00, Иван <ivan@x.ru> написал(а):", "01.01.2024 10:00, Jan Kowalski pisze:"
    ("any_wrote", rf"^{_Q}(?=[^\n]*[\d@])[^\n>][^\n]{{2,300}}?\b(?:{_VERBS})[ \t]*:[ \t]*$", False),
    (
        "any_wrote_wrapped",
        rf"^{_Q}(?=[^\n]*\d{{1,2}}:\d{{2}})[^\n>][^\n]{{2,300}}\n"
        rf"{_Q}[ \t]*(?:[^\n]{{0,80}}?\s)?(?:{_VERBS})[ \t]*:[ \t]*$",
        False,
    ),
    # Gmail in Russian and mail.ru: "пн, 1 янв. 2024 г. в 10:00, Иван Петров <ivan@example.ru>:"
    ("date_address", rf"^{_Q}(?=[^\n]*\d{{1,2}}:\d{{2}})[^\n>][^\n]{{0,300}}@[^\s<>]+>[ \t]*:[ \t]*$", False),
    (
        "date_address_wrapped",
        rf"^{_Q}(?=[^\n]*\d{{1,2}}:\d{{2}})[^\n>][^\n]{{0,300}}\n"
        rf"{_Q}[ \t]*[^\n]{{0,120}}@[^\s<>]+>[ \t]*:[ \t]*$",
        False,
    ),
)

_DEVICE = (
    r"(?:my |mojego |mojej |moego |meinem |mon |mi )?(?:iPhone|iPad|Android|Galaxy|Samsung|Huawei|Xiaomi|"
    r"Pixel|BlackBerry|Blackberry|mobile|phone|smartphone|telefonu|smartfona|tabletu|телефона|"
    r"мобильного|Handy|Smartphone|Outlook|Mail|Yahoo Mail|Gmail|AOL|Poczty|aplikacji|urządzenia|"
    r"Яндекс|Mail\.ru|iPhone'?a|iPada)"
)
# The device line mobile mail programs add: "Sent from my iPhone", "Wysłane z iPhone'a",
# "Отправлено с iPhone"… (a device word is required: "Wysłano z magazynu" is the customer's).
_MOBILE_SIGNATURE = re.compile(
    rf"^[ \t]*(?:Sent (?:from|with|via) {_DEVICE}|Get Outlook for (?:iOS|Android)|"
    rf"Wysłan[eo] z {_DEVICE}|Отправлено (?:с|из|со) {_DEVICE}|Von meinem {_DEVICE}|"
    rf"Gesendet (?:von|mit) {_DEVICE}|Envoyé (?:de|depuis) {_DEVICE}|Enviado desde {_DEVICE}|"
    rf"Inviato da {_DEVICE}|Verzonden (?:vanaf|met) {_DEVICE})[^\n]{{0,60}}$",
    re.MULTILINE | re.IGNORECASE,
)

_FORWARD_MARKER = re.compile(
    r"^[ \t>]*(?:-{3,}[ \t]*(?:Forwarded message|Forwarded Message|Wiadomość przekazana|Przekazana wiadomość|"
    r"Пересылаемое сообщение|Пересланное сообщение|Weitergeleitete Nachricht|Message transféré|"
    r"Mensaje reenviado|Messaggio inoltrato|Doorgestuurd bericht)[ \t]*-{3,}|"
    r"Begin forwarded message:|Początek przekazanej wiadomości:|Начало переадресованного сообщения:|"
    r"-{5,} Пересылаемое сообщение -{5,})",
    re.MULTILINE | re.IGNORECASE,
)

_FORWARD_SUBJECT = re.compile(r"^\s*(?:Fwd?|FW|PD|TR|WG|Пересл|Переслать|RV|I|VS|Doorst)\s*:", re.IGNORECASE)
_SEPARATOR_LINE = re.compile(r"^[ \t]*(?:[_\-—=*]{8,}|<hr>)[ \t]*$")
_QUOTED_LINE = re.compile(r"^[ \t]*>")


@dataclass
class Split:
    text: str
    quoted: str = ""
    # How the cut was found ("html:gmail_quote", "text:pl_wrote", "text:quoted_lines"…); "" for none.
    method: str = ""


@dataclass(frozen=True)
class _Pattern:
    name: str
    regex: re.Pattern[str]
    strong: bool


@cache
def _patterns() -> tuple[_Pattern, ...]:
    flags = re.MULTILINE | re.IGNORECASE
    patterns = [_Pattern(name, re.compile(source, flags), strong) for name, source, strong in _OWN_PATTERNS]
    # mail-parser-reply's attribution lines of every language it knows ("Dne … napsal(a):",
    # "El … escribió:", "2024年1月1日(月) 10:00 …:"…) and its "-----Original Message-----".
    for language, entries in MAIL_LANGUAGES.items():
        wrote = entries.get("wrote_header")
        if isinstance(wrote, str) and language != "david":
            patterns.append(_Pattern(f"{language}_wrote_mpr", re.compile(wrote, flags), True))
    patterns.append(_Pattern("separator_mpr", re.compile(GENERIC_MAIL_SEPARATOR, flags), True))
    return tuple(patterns)


def is_forward(subject: str) -> bool:
    return bool(_FORWARD_SUBJECT.match(subject or ""))


def _line_start(text: str, position: int) -> int:
    return text.rfind("\n", 0, position) + 1


class _Interleaving:
    """For any offset: do quoted lines follow it with the customer's own lines after them (answers
    written between the quotes)? Computed once per text, backwards, so checking is cheap."""

    def __init__(self, text: str) -> None:
        self.starts: list[int] = []
        position = 0
        lines = text.split("\n")
        for line in lines:
            self.starts.append(position)
            position += len(line) + 1
        self.from_line = [False] * (len(lines) + 1)
        unquoted_after = False
        for i in range(len(lines) - 1, -1, -1):
            line = lines[i]
            if _QUOTED_LINE.match(line):
                self.from_line[i] = unquoted_after or self.from_line[i + 1]
            else:
                self.from_line[i] = self.from_line[i + 1]
                if line.strip() and not _MOBILE_SIGNATURE.match(line):
                    unquoted_after = True

    def after(self, offset: int) -> bool:
        return self.from_line[bisect.bisect_right(self.starts, offset)]


def _quotes_follow(text: str, after: int) -> bool:
    lines = [line for line in text[after : after + 2000].split("\n", 8)[:8] if line.strip()]
    return any(_QUOTED_LINE.match(line) for line in lines[:3])


_LONG_LINE = re.compile(r"^[^\n]{400,}$", re.MULTILINE)


def _neutralise_long_lines(text: str) -> str:
    """No quote header is this long, and the attribution patterns backtrack on long lines: blank
    them out (same length, so offsets still point into the real text)."""
    return _LONG_LINE.sub(lambda m: "\x01" * len(m.group(0)), text)


def _header_cut(text: str) -> tuple[int, str] | None:
    """The earliest attribution/header/separator with some text before it."""
    best: tuple[int, str] | None = None
    first_content = len(text) - len(text.lstrip())
    interleaving: _Interleaving | None = None
    for pattern in _patterns():
        for match in pattern.regex.finditer(text):
            start = _line_start(text, match.start())
            if best is not None and start >= best[0]:
                break
            if start <= first_content:
                continue
            if not pattern.strong and not _quotes_follow(text, match.end()):
                continue
            if pattern.name.endswith(_ATTRIBUTIONS):
                interleaving = interleaving or _Interleaving(text)
                if interleaving.after(match.end()):
                    continue
            best = (start, pattern.name)
            break
    return best


_ATTRIBUTIONS = ("wrote", "wrote_mpr", "wrote_wrapped", "address", "address_wrapped", "apple")


def _quoted_block_cut(text: str) -> int | None:
    """The first line of a trailing block of "> " lines (with the attribution line above it)."""
    lines = text.split("\n")
    offsets = []
    position = 0
    for line in lines:
        offsets.append(position)
        position += len(line) + 1
    last_unquoted = None
    first_quoted_of_tail = None
    for i in range(len(lines) - 1, -1, -1):
        line = lines[i]
        if not line.strip():
            continue
        if _QUOTED_LINE.match(line):
            first_quoted_of_tail = i
        elif _MOBILE_SIGNATURE.match(line) and first_quoted_of_tail is None:
            continue
        else:
            last_unquoted = i
            break
    if first_quoted_of_tail is None or last_unquoted is None:
        return None
    cut = first_quoted_of_tail
    # The line introducing the quote ("Jan wrote:", "12.01.2024 Jan:") goes with it.
    if lines[last_unquoted].rstrip().endswith(":") and len(lines[last_unquoted]) < 200:
        earlier = [line for line in lines[:last_unquoted] if line.strip()]
        if earlier:
            cut = last_unquoted
    return offsets[cut]


def _signature_cut(text: str, end: int) -> int | None:
    """A mobile signature ("Sent from my iPhone") right before `end` (the quote, or the end)."""
    best = None
    for match in _MOBILE_SIGNATURE.finditer(text, 0, end):
        if not text[match.end() : end].strip() and text[: match.start()].strip():
            best = match.start()
            break
    return best


def split_text(text: str, *, forward: bool = False) -> Split:
    """Split a plain-text body into the new text and the quoted history."""
    scan = _neutralise_long_lines(text[:MAX_SCAN_CHARS])
    cut: int | None = None
    method = ""
    forward_at = None if forward else _forward_position(scan)
    if not forward:
        found = _header_cut(scan)
        if found is not None:
            cut, method = found[0], "text:" + found[1]
        quoted = _quoted_block_cut(scan)
        if quoted is not None and (cut is None or quoted < cut):
            cut, method = quoted, "text:quoted_lines"
        if cut is not None and forward_at is not None and cut > forward_at:
            cut, method = None, ""
    if cut is not None:
        cut = _include_separator_above(scan, cut)
    signature = _signature_cut(scan, cut if cut is not None else len(scan))
    if signature is not None:
        cut = signature
        method = method or "text:mobile_signature"
    if cut is None:
        return Split(text=tidy(text))
    new, quoted_text = tidy(text[:cut]), tidy(text[cut:])
    if not new:
        return Split(text=tidy(text))
    return Split(text=new, quoted=quoted_text, method=method)


def _forward_position(text: str) -> int | None:
    match = _FORWARD_MARKER.search(text)
    return match.start() if match else None


def _include_separator_above(text: str, cut: int) -> int:
    """Outlook draws a line of underscores above its header block: it belongs to the quote."""
    before = text[:cut].rstrip("\n")
    line_start = _line_start(before, len(before))
    if _SEPARATOR_LINE.match(before[line_start:]) and before[:line_start].strip():
        return line_start
    return cut


def split_reply(
    text: str, html: HtmlText | None = None, *, subject: str = "", text_from_html: bool = False
) -> Split:
    """Split a message body into (new text, quoted history), HTML structure first.

    `text` is the plain-text body; `html` the converted HTML part when there is one;
    `text_from_html` says `text` is that conversion (no plain part).
    """
    forward = is_forward(subject)
    if html is not None and html.quote_at is not None and not forward:
        quoted_html = html.quoted_text
        if quoted_html and not _FORWARD_MARKER.match(quoted_html.split("\n", 1)[0]):
            if text_from_html:
                return _finish_html_split(html.new_text, quoted_html, html.quote_marker)
            aligned = _align(text, quoted_html)
            if aligned is not None:
                aligned = _include_separator_above(text, aligned)
                new, quoted = tidy(text[:aligned]), tidy(text[aligned:])
                if new:
                    return _trailing_attribution(Split(new, quoted, "html:" + html.quote_marker))
    split = split_text(text, forward=forward)
    if split.quoted or html is None or html.quote_at is None or forward:
        return split
    # The plain part has no recognisable quote but the HTML had one: trust the HTML's reading.
    new = html.new_text
    if new and not _FORWARD_MARKER.match(html.quoted_text.split("\n", 1)[0]):
        return _finish_html_split(new, html.quoted_text, html.quote_marker)
    return split


def _finish_html_split(new: str, quoted: str, marker: str) -> Split:
    if not new.strip():
        return Split(text=tidy(new + "\n" + quoted))
    return _trailing_attribution(Split(new, quoted, "html:" + marker))


def _trailing_attribution(split: Split) -> Split:
    """Apple Mail and Yandex put "On … wrote:" just before the blockquote, outside it; a mobile
    signature may sit there too. Move both to the quote."""
    text = split.text
    for _ in range(2):
        lines = text.rstrip().split("\n")
        last = lines[-1] if lines else ""
        if len(lines) < 2:
            break
        candidate = "\n".join(lines[-2:])
        if len(candidate) > 800:  # no attribution is this long (and the patterns backtrack)
            break
        moved = None
        for pattern in _patterns():
            match = pattern.regex.search(candidate)
            if match and match.end() >= len(candidate.rstrip()) - 1:
                moved = candidate[_line_start(candidate, match.start()) :]
                break
        if moved is None and _MOBILE_SIGNATURE.fullmatch(last):
            moved = last
        if moved is None:
            break
        keep = text.rstrip()[: len(text.rstrip()) - len(moved)]
        if not keep.strip():
            break
        split = Split(tidy(keep), tidy(moved + "\n" + split.quoted), split.method)
        text = split.text
    return split


_NORMALISE = re.compile(r"[\s>*_]+")


def _align(text: str, quoted_html: str) -> int | None:
    """Where the HTML's quoted history starts in the plain-text part: the line that begins like the
    quote's first line (Gmail re-wraps the attribution in its plain part, so prefixes only)."""
    first = next((line for line in quoted_html.split("\n") if line.strip()), "")
    key = _NORMALISE.sub(" ", first).strip()[:40].lower()
    if len(key) < 4:
        return None
    position = 0
    scan = text[:MAX_SCAN_CHARS]
    for line in scan.split("\n"):
        normalised = _NORMALISE.sub(" ", line).strip().lower()
        matches = normalised.startswith(key) or (len(normalised) >= 12 and key.startswith(normalised))
        if normalised and matches and scan[:position].strip():
            return position
        position += len(line) + 1
    return None
