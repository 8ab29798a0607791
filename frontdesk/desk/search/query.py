"""Reading what someone typed into the search box, and highlighting matches. Pure: no database.

The query is never handed to a database's query language as typed: it is broken into words
(letters and digits only), each matched as a quoted term, so quotes, brackets, `*`, `-`,
AND/OR/NEAR and the like are just characters to ignore.
"""

from __future__ import annotations

import contextlib
import html
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from django.utils.safestring import SafeString, mark_safe

from ..lib.addresses import InvalidAddress, normalize_email, normalize_phone

# Longer input is cut: nobody searches with a paragraph, and the cost of a query grows with it.
MAX_QUERY_CHARS = 200
MAX_TERMS = 8
MAX_TERM_CHARS = 64
# Alphabetic words at least this long are matched as prefixes ("paczk" finds "paczki").
MIN_PREFIX_CHARS = 3

_WORD = re.compile(r"[^\W_]+")
_NUMBER = re.compile(r"(#)?\s*([0-9]{1,9})")
_PHONE = re.compile(r"\+?[0-9][0-9 ().\-/]{5,24}")
# Letters that Unicode does not decompose into a base letter and a mark, folded by hand.
_FOLD_EXTRA = str.maketrans({"ł": "l", "đ": "d", "ø": "o", "ħ": "h", "ı": "i"})
_VOWELS = frozenset("aeiouy")
# Markers the databases put around matches in snippets (private-use characters).
MARK_START = "\ue000"
MARK_END = "\ue001"
_MARKED = re.compile(f"{MARK_START}([^{MARK_START}{MARK_END}]*){MARK_END}")


def fold(text: str) -> str:
    """Lower-case without diacritics: "Łódź" → "lodz". What both backends compare."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_FOLD_EXTRA))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def light_stem(word: str) -> str:
    """Drop a folded word's trailing vowels, so a prefix match covers its inflected forms.

    Polish inflects mostly at the end ("paczka", "paczki", "paczkę"; "faktura", "fakturze"), so
    "paczk*" finds them all where no dictionary is available. At least four letters are kept.
    """
    stem = word
    while len(stem) > 4 and stem[-1] in _VOWELS:
        stem = stem[:-1]
    return stem


@dataclass(frozen=True)
class Term:
    """One word of the query.

    `word` is lower-cased with its diacritics (what a language dictionary needs), `folded` has none,
    `stem` is the folded prefix used when `prefix` is set (otherwise the word must match whole).
    """

    word: str
    folded: str
    stem: str
    prefix: bool

    def matches(self, folded_token: str) -> bool:
        if self.prefix:
            return folded_token.startswith(self.stem)
        return folded_token == self.folded


@dataclass(frozen=True)
class ParsedQuery:
    text: str
    # "#123" or "123": a conversation's reference number; `number_only` when written with "#".
    number: int | None = None
    number_only: bool = False
    # Exact identity addresses to look up (normalised email, E.164 phone, the text as typed).
    addresses: tuple[str, ...] = ()
    terms: tuple[Term, ...] = field(default_factory=tuple)

    @property
    def is_empty(self) -> bool:
        return self.number is None and not self.addresses and not self.terms


def clean(text: str) -> str:
    """The query without control characters, surrogates and runs of spaces, cut to a sane length."""
    kept = []
    for c in str(text or "")[: MAX_QUERY_CHARS * 4]:
        category = unicodedata.category(c)
        if category in ("Cc", "Cs", "Cf", "Co", "Cn"):
            kept.append(" ")
        else:
            kept.append(c)
    return " ".join("".join(kept).split())[:MAX_QUERY_CHARS]


def terms_of(text: str) -> tuple[Term, ...]:
    found: dict[str, Term] = {}
    for match in _WORD.finditer(text):
        word = match.group(0).lower()[:MAX_TERM_CHARS]
        folded = fold(word)
        # Folding may leave nothing that is a letter or digit (a lone combining mark).
        folded = "".join(_WORD.findall(folded))
        if not folded or folded in found:
            continue
        if len(folded) < 2 and not folded.isdigit():
            continue
        prefix = not folded.isdigit() and len(folded) >= MIN_PREFIX_CHARS
        found[folded] = Term(
            word=word, folded=folded, stem=light_stem(folded) if prefix else folded, prefix=prefix
        )
        if len(found) == MAX_TERMS:
            break
    return tuple(found.values())


def parse(text: str, *, country: str = "PL") -> ParsedQuery:
    """What the query asks for: a number, a customer's address, words — often several at once."""
    text = clean(text)
    if not text:
        return ParsedQuery(text="")
    number = None
    number_only = False
    if match := _NUMBER.fullmatch(text):
        number = int(match.group(2))
        number_only = bool(match.group(1))
        if number_only:
            return ParsedQuery(text=text, number=number, number_only=True)
    addresses: list[str] = []
    if "@" in text:
        with contextlib.suppress(InvalidAddress):
            addresses.append(normalize_email(text))
    if _PHONE.fullmatch(text) and sum(c.isdigit() for c in text) >= 7:
        with contextlib.suppress(InvalidAddress):
            addresses.append(normalize_phone(text, country or "PL"))
    if len(text) <= 320 and text not in addresses:
        # The shop's own customer ids ("KL-10423") and anything stored as typed.
        addresses.append(text)
    return ParsedQuery(text=text, number=number, addresses=tuple(addresses), terms=terms_of(text))


# BM25's constants, as FTS5's bm25() has them, and the typical length in words of what is scored
# (a customer's message or a reply; a subject; a name), against which length counts.
BM25_K1 = 1.2
BM25_B = 0.75
TYPICAL_WORDS = {"message": 60.0, "subject": 6.0, "name": 2.0}


@lru_cache(maxsize=65536)
def _folded_token(token: str) -> str:
    return fold(token)


def words_of(text: str) -> list[str]:
    """The folded words of a text, as the index cuts them."""
    return [_folded_token(w) for w in _WORD.findall(text.lower())]


def scores(texts: Sequence[str], terms: Sequence[Term], typical_words: float) -> list[float]:
    """A BM25 score of each text for the terms (higher is better), without the terms' rarity.

    Term frequency saturates (k1) and texts longer than `typical_words` weigh less, shorter ones
    more (b). Every scored text holds every term (the search asks for all of them), so how rare
    each word is in the whole index — the part of BM25 that costs reading every match of every
    word — would only weigh the words against each other; it is left out.
    """
    result = []
    for text in texts:
        words = words_of(text)
        norm = BM25_K1 * (1 - BM25_B + BM25_B * len(words) / typical_words)
        total = 0.0
        for term in terms:
            count = sum(1 for w in words if term.matches(w))
            total += count * (BM25_K1 + 1) / (count + norm)
        result.append(total)
    return result


def _collapse(text: str) -> str:
    return " ".join(text.split())


def marked_to_html(marked: str) -> SafeString:
    """Database snippet with MARK_START/MARK_END around matches → escaped HTML with <mark>.

    Everything is escaped first; only the markers we asked for become tags, always in pairs, so
    nothing a customer wrote (not even the marker characters themselves) can produce markup.
    """
    escaped = html.escape(_collapse(marked), quote=True)
    tagged = _MARKED.sub(r"<mark>\1</mark>", escaped)
    return mark_safe(tagged.replace(MARK_START, "").replace(MARK_END, ""))  # escaped above


def highlight(text: str, terms: Sequence[Term], *, width: int = 180) -> SafeString:
    """An escaped excerpt of `text` around its first match, the matching words in <mark>.

    Matching is by folded word (case and diacritics ignored), prefix for prefix terms.
    """
    text = _collapse(text.replace(MARK_START, "").replace(MARK_END, ""))
    spans = [
        (m.start(), m.end()) for m in _WORD.finditer(text) if any(t.matches(fold(m.group(0))) for t in terms)
    ]
    start, end = 0, len(text)
    if len(text) > width:
        if spans:
            start = max(0, spans[0][0] - width // 3)
            if start:
                space = text.find(" ", start)
                start = space + 1 if 0 <= space < spans[0][0] else start
        end = min(len(text), start + width)
        if end < len(text):
            space = text.rfind(" ", start, end)
            end = space if space > start else end
    pieces = []
    position = start
    for s, e in spans:
        if s < start or e > end:
            continue
        pieces.append(html.escape(text[position:s]))
        pieces.append(f"<mark>{html.escape(text[s:e])}</mark>")
        position = e
    pieces.append(html.escape(text[position:end]))
    result = "".join(pieces)
    if start > 0:
        result = "…" + result
    if end < len(text):
        result += "…"
    return mark_safe(result)  # every piece is escaped
