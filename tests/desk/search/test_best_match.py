"""Best match: search results ordered by relevance (order="best") instead of newest activity first.

Runs on SQLite (bm25) and on PostgreSQL (ts_rank_cd) alike:
    .venv/bin/pytest -q tests/desk/search/test_best_match.py
    FRONTDESK_TEST_DB_NAME=bestmatch_test DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
        .venv/bin/pytest -q tests/desk/search/test_best_match.py
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import pytest
from django.utils import timezone

from frontdesk.desk.actions.conversations import do_add_note, do_merge
from frontdesk.desk.errors import Invalid
from frontdesk.desk.models import Conversation
from frontdesk.desk.search import search_conversations
from tests.factories import ChannelFactory, receive

pytestmark = pytest.mark.django_db

# Long enough that one mention of a word is a small part of it.
FILLER = (
    "Dzień dobry, piszę w sprawie zamówienia złożonego w zeszłym tygodniu przez stronę sklepu. "
    "Przesyłka dotarła wczoraj po południu, kurier zostawił ją u sąsiada, wszystko w porządku. "
    "Proszę jeszcze o fakturę na firmę i potwierdzenie płatności przelewem. Pozdrawiam serdecznie."
)


def numbers(tenant, query, **kwargs):  # type: ignore[no-untyped-def]
    return [hit.number for hit in search_conversations(tenant.pk, query, **kwargs).hits]


def best(tenant, query, **kwargs):  # type: ignore[no-untyped-def]
    return numbers(tenant, query, order="best", **kwargs)


def age(conversation, days):  # type: ignore[no-untyped-def]
    """Make the conversation's last activity `days` ago (what best match's ties go by)."""
    Conversation.objects.filter(pk=conversation.pk).update(
        last_message_at=timezone.now() - dt.timedelta(days=days)
    )


def walk(tenant, query, *, limit, **kwargs):  # type: ignore[no-untyped-def]
    """Every page of a search, following next_cursor; (numbers, pages)."""
    seen, cursor, pages = [], None, 0
    while pages < 50:
        page = search_conversations(tenant.pk, query, limit=limit, before=cursor, **kwargs)
        seen += [hit.number for hit in page.hits]
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    return seen, pages


@pytest.fixture
def form(tenant):  # type: ignore[no-untyped-def]
    return ChannelFactory(tenant=tenant, kind="form", name="Contact form")


def test_the_denser_match_comes_first_even_when_older(tenant, form):
    about_it = receive(
        form, "Kask pękł. Kask był nowy, kask z gwarancją.", subject="Reklamacja", email="b@example.org"
    )
    age(about_it, 30)
    mentions_once = receive(
        form, f"{FILLER} Przy okazji: czy macie kask dla dziecka?", subject="Pytanie", email="a@example.org"
    )

    assert numbers(tenant, "kask") == [mentions_once.number, about_it.number]
    assert best(tenant, "kask") == [about_it.number, mentions_once.number]


def test_more_occurrences_of_every_word_rank_higher(tenant, form):
    both_often = receive(
        form,
        "Rower elektryczny: bateria nie ładuje. Bateria do roweru wymieniona, rower dalej nie jedzie.",
        subject="Serwis",
        email="a@example.org",
    )
    both_once = receive(form, f"{FILLER} Rower i bateria.", subject="Pytanie", email="b@example.org")
    only_one = receive(form, "Rower rower rower rower.", subject="Rower", email="c@example.org")
    age(both_often, 20)

    # Every word must match: "only_one" has no "bateria".
    assert best(tenant, "rower bateria") == [both_often.number, both_once.number]
    assert only_one.number in best(tenant, "rower")


def test_equal_matches_come_newest_activity_first(tenant, form):
    older = receive(form, "Zwrot paczki", subject="Zwrot paczki", email="a@example.org")
    newer = receive(form, "Zwrot paczki", subject="Zwrot paczki", email="b@example.org")
    oldest = receive(form, "Zwrot paczki", subject="Zwrot paczki", email="c@example.org")
    age(older, 2)
    age(oldest, 9)

    assert best(tenant, "zwrot paczki") == [newer.number, older.number, oldest.number]


def test_a_conversation_counts_its_best_matching_message_and_the_snippet_shows_it(tenant, form, agent):
    thread = receive(form, f"{FILLER} Chodzi o hamulec.", subject="Dostawa", email="a@example.org")
    do_add_note(agent, thread, "Hamulec tarczowy: hamulec przedni, hamulec tylny.")
    do_add_note(agent, thread, f"{FILLER} Hamulec — oddzwonić.")  # the newest match, but sparse
    other = receive(form, f"{FILLER} Jeszcze hamulec?", subject="Inne", email="b@example.org")
    age(thread, 10)

    page = search_conversations(tenant.pk, "hamulec", order="best")

    assert [hit.number for hit in page.hits] == [thread.number, other.number]
    assert page.hits[0].matched == "message"
    assert "<mark>Hamulec</mark> tarczowy" in page.hits[0].snippet_html
    newest = search_conversations(tenant.pk, "hamulec").hits
    assert "oddzwonić" in next(h for h in newest if h.number == thread.number).snippet_html


def test_when_the_subject_matches_best_the_snippet_is_the_subject(tenant, form):
    conversation = receive(
        form, f"{FILLER} Kierownica.", subject="Kierownica, kierownica!", email="a@example.org"
    )

    best_hit = search_conversations(tenant.pk, "kierownica", order="best").hits[0]
    newest_hit = search_conversations(tenant.pk, "kierownica").hits[0]

    assert best_hit.number == newest_hit.number == conversation.number
    assert (best_hit.message_id, best_hit.snippet_html) == (
        None,
        "<mark>Kierownica</mark>, <mark>kierownica</mark>!",
    )
    assert newest_hit.message_id is not None


def test_the_subject_and_the_customer_name_are_documents_too(tenant, form):
    by_subject = receive(form, FILLER, subject="Siodełko siodełko", email="a@example.org")
    by_name = receive(form, FILLER, subject="Pytanie", email="b@example.org", name="Anna Siodełko")
    # One mention in a message twice as long as the others.
    by_message = receive(form, f"{FILLER} {FILLER} Siodełko.", subject="Inne", email="c@example.org")

    page = search_conversations(tenant.pk, "siodelko", order="best")

    found = {hit.number: hit for hit in page.hits}
    assert set(found) == {by_subject.number, by_name.number, by_message.number}
    assert page.hits[-1].number == by_message.number  # one word in a long message scores lowest
    assert found[by_name.number].matched == "customer"
    assert found[by_subject.number].snippet_html == "<mark>Siodełko</mark> <mark>siodełko</mark>"


def test_the_number_and_the_customers_address_come_first(tenant, form):
    typed = receive(form, "Pytanie", subject="Pytanie", email="ola@example.org", name="Ola")
    dense = receive(
        form, "ola@example.org ola@example.org ola example org", subject="Ola Ola", email="x@example.org"
    )
    age(typed, 40)

    assert best(tenant, "OLA@example.org")[0] == typed.number

    numbered = receive(form, "Pytanie", subject="Pytanie", email="n@example.org", name="Nowy")
    in_text = receive(form, f"Zamówienie {numbered.number} {numbered.number}", email="m@example.org")
    age(numbered, 50)
    assert best(tenant, str(numbered.number)) == [numbered.number, in_text.number]
    assert best(tenant, f"#{numbered.number}") == [numbered.number]
    assert dense.number in best(tenant, "ola")


def test_a_merged_conversation_is_found_only_by_number(tenant, form, owner):
    source = receive(form, "Rower rower rower", subject="Rower", email="a@example.org")
    target = receive(form, "Druga wiadomość", subject="Inne", email="a@example.org")
    do_merge(owner, source, target)

    assert best(tenant, "rower") == [target.number]
    assert best(tenant, f"#{source.number}") == [source.number]


def test_another_shops_conversations_are_never_found(tenant, form, other_tenant):
    elsewhere = ChannelFactory(tenant=other_tenant, kind="form")
    theirs = receive(
        elsewhere,
        "Reklamacja reklamacja reklamacja",
        subject="Reklamacja",
        email="jan@example.org",
        name="Jan",
    )
    mine = receive(form, f"{FILLER} Reklamacja.", subject="Pytanie", email="ola@example.org", name="Ola")

    assert best(tenant, "reklamacja") == [mine.number]
    assert [
        h.conversation.tenant_id for h in search_conversations(tenant.pk, "reklamacja", order="best").hits
    ] == [tenant.pk]
    assert best(other_tenant, "reklamacja") == [theirs.number]
    for query in ("jan", "jan@example.org"):
        assert best(tenant, query) == [], query


@pytest.mark.parametrize("recent_rows", [1, 10_000])
def test_the_cap_counts_only_the_shops_own_documents(tenant, form, other_tenant, monkeypatch, recent_rows):
    """The tenant condition is inside the index query, before its LIMIT: newer matches of another
    shop do not use up the candidates."""
    monkeypatch.setattr("frontdesk.desk.search.postgres.RECENT_ROWS", defaultdict(lambda: recent_rows))
    monkeypatch.setattr("frontdesk.desk.search.BEST_MATCH_CANDIDATES", 2)
    mine = receive(form, "Opona opona", subject="Opona", email="a@example.org", name="Opona Kowalska")
    elsewhere = ChannelFactory(tenant=other_tenant, kind="form")
    for i in range(4):
        receive(
            elsewhere, "Opona opona opona", subject="Opona", email=f"o{i}@example.org", name="Opona Nowak"
        )

    assert best(tenant, "opona") == [mine.number]


@pytest.mark.parametrize("recent_rows", [1, 10_000])
def test_only_the_newest_matching_documents_are_ranked(tenant, form, monkeypatch, recent_rows):
    """BEST_MATCH_CANDIDATES bounds the work: older matches beyond it are left out of best match
    (newest first still pages through all of them). On PostgreSQL the newest rows are read first
    and older ones through the index (RECENT_ROWS): either way, the newest matches are taken."""
    monkeypatch.setattr("frontdesk.desk.search.postgres.RECENT_ROWS", defaultdict(lambda: recent_rows))
    monkeypatch.setattr("frontdesk.desk.search.BEST_MATCH_CANDIDATES", 3)
    created = [
        receive(
            form, f"Dętka numer {i}", subject=f"Sprawa {i}", email=f"c{i}@example.org", name=f"Klient {i}"
        )
        for i in range(5)
    ]

    assert sorted(best(tenant, "detka")) == sorted(c.number for c in created[-3:])
    assert sorted(numbers(tenant, "detka")) == sorted(c.number for c in created)
    monkeypatch.setattr("frontdesk.desk.search.BEST_MATCH_CANDIDATES", 10)
    assert sorted(best(tenant, "detka")) == sorted(c.number for c in created)


def test_pages_of_best_matches_show_every_conversation_once(tenant, form):
    created = []
    for i in range(8):
        # 1 to 4 mentions, and equal scores in pairs: ties are broken by activity, then id.
        text = " ".join(["zwrot"] * (i % 4 + 1)) + " pieniędzy za zamówienie"
        created.append(receive(form, text, subject=f"Sprawa {i}", email=f"c{i}@example.org"))
    for days, conversation in enumerate(created):
        age(conversation, days % 3)
    everything = best(tenant, "zwrot", limit=100)

    for limit in (1, 3, 5):
        seen, pages = walk(tenant, "zwrot", limit=limit, order="best")
        assert seen == everything, limit
        assert pages == -(-len(created) // limit)
    assert sorted(everything) == sorted(c.number for c in created)


def test_pages_start_with_the_number_typed_and_never_show_it_again(tenant, form):
    numbered = receive(form, "Pytanie", subject="Pytanie", email="n@example.org")
    for i in range(4):
        receive(form, f"Zamówienie {numbered.number} w drodze {i}", email=f"c{i}@example.org")

    seen, pages = walk(tenant, str(numbered.number), limit=2, order="best")

    assert seen[0] == numbered.number
    assert len(seen) == len(set(seen)) == 5
    assert pages == 3


@pytest.mark.parametrize(
    "cursor",
    [
        "nonsense",
        "b1_",
        "b2_1.0_1_1",
        "b1_nan_1_1",
        "b1_inf_1_1",
        "b1_1.0_99999999999999999999_1",
        "b1_1.0_-5_3",
        "1700000000000000_5",  # a newest-first cursor
    ],
)
def test_a_malformed_or_foreign_cursor_is_invalid_input(tenant, cursor):
    with pytest.raises(Invalid) as raised:
        search_conversations(tenant.pk, "zwrot", before=cursor, order="best")
    assert raised.value.code == "invalid_cursor"


def test_a_best_match_cursor_is_not_a_newest_first_cursor(tenant, form):
    for i in range(3):
        receive(form, f"Faktura {i}", email=f"c{i}@example.org")
    cursor = search_conversations(tenant.pk, "faktura", limit=1, order="best").next_cursor
    assert cursor is not None

    with pytest.raises(Invalid):
        search_conversations(tenant.pk, "faktura", before=cursor)
    assert search_conversations(tenant.pk, "faktura", before=cursor, order="best").hits


def test_an_unknown_order_is_invalid_input(tenant):
    with pytest.raises(Invalid) as raised:
        search_conversations(tenant.pk, "zwrot", order="oldest")
    assert raised.value.code == "invalid_order"


@pytest.mark.parametrize("query", ['"', "*", "NEAR(a b)", "a:*", "\\", "x" * 5000, "", "   ", "#", "#0"])
def test_odd_queries_are_harmless(tenant, form, query):
    receive(form, "Zwrot paczki", email="a@example.org")

    page = search_conversations(tenant.pk, query, order="best", limit=5)

    assert len(page.hits) <= 5
