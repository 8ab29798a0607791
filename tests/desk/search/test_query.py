"""Reading the search box: numbers, addresses, words; highlighting that is always safe HTML."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from frontdesk.desk.search.query import MARK_END, MARK_START, fold, highlight, marked_to_html, parse

ONLY_MARK_TAGS = re.compile(r"</?(?!mark>)[a-zA-Z]")


def test_a_hash_and_digits_ask_for_that_conversation_only():
    query = parse("#123")
    assert (query.number, query.number_only, query.terms) == (123, True, ())


def test_bare_digits_ask_for_the_conversation_and_for_the_digits_in_text():
    query = parse(" 123 ")
    assert query.number == 123
    assert not query.number_only
    assert [t.folded for t in query.terms] == ["123"]


def test_an_email_address_is_looked_up_normalised():
    assert "jan.kowalski@example.org" in parse("Jan.Kowalski@Example.org").addresses


def test_a_phone_number_is_looked_up_in_e164_read_in_the_shops_country():
    assert "+48601234567" in parse("601 234 567", country="PL").addresses
    assert "+48601234567" in parse("+48 601-234-567").addresses


def test_words_become_prefix_terms_without_diacritics():
    terms = parse("Przesyłka PACZKI xl").terms
    assert [(t.word, t.folded, t.stem, t.prefix) for t in terms] == [
        ("przesyłka", "przesylka", "przesylk", True),
        ("paczki", "paczki", "paczk", True),
        ("xl", "xl", "xl", False),
    ]


def test_query_syntax_is_only_characters():
    terms = parse('"zwrot" AND (paczka OR -faktura*) NEAR/3 kod^2').terms
    assert [t.folded for t in terms] == ["zwrot", "and", "paczka", "or", "faktura", "near", "3", "kod"]


def test_folding_handles_letters_without_a_decomposition():
    assert fold("Łódź ŻÓŁTA Straße") == "lodz zolta strasse"


def test_an_empty_or_blank_query_asks_for_nothing():
    assert parse("").is_empty
    assert parse("  \n\t ").is_empty
    assert parse("\x00\x01").is_empty


def test_highlight_marks_inflected_words_and_escapes_the_rest():
    terms = parse("paczka").terms
    html = highlight('Moja <b>paczki</b> & "paczkę" nie ma', terms)
    assert html == "Moja &lt;b&gt;<mark>paczki</mark>&lt;/b&gt; &amp; &quot;<mark>paczkę</mark>&quot; nie ma"


def test_highlight_shows_the_part_of_a_long_text_around_the_match():
    text = "Dzień dobry. " * 40 + "Kod rabatowy WIOSNA15 nie działa. " + "Pozdrawiam. " * 40
    html = highlight(text, parse("wiosna15").terms)
    assert "<mark>WIOSNA15</mark>" in html
    assert html.startswith("…")
    assert html.endswith("…")
    assert len(html) < 260


def test_database_markers_become_mark_tags_only_in_pairs():
    marked = f"a {MARK_START}<script>{MARK_END} b {MARK_END}c{MARK_START}"
    assert marked_to_html(marked) == "a <mark>&lt;script&gt;</mark> b c"


@given(st.text(max_size=400), st.text(max_size=60))
def test_any_text_and_query_give_safe_html(text, query):
    html = highlight(text, parse(query).terms)
    assert not ONLY_MARK_TAGS.search(html)
    assert "<mark>" not in html.replace("<mark>", "", html.count("</mark>"))


@given(st.text(max_size=500))
def test_any_query_parses(text):
    query = parse(text)
    assert len(query.terms) <= 8
    assert all(re.fullmatch(r"[^\W_]+", t.folded) for t in query.terms)
    # Quoted as they are in a tsquery: no quote or backslash may get through.
    assert not any(c in t.word + t.stem for t in query.terms for c in "'\\")
