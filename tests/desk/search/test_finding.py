"""Finding conversations: by number, by customer, by words in messages, notes and subjects."""

from __future__ import annotations

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frontdesk.channels.base import InboundContact, InboundMessage
from frontdesk.desk.actions.conversations import do_add_note, do_merge, do_reply
from frontdesk.desk.actions.customers import do_update_customer
from frontdesk.desk.actions.inbound import do_receive_inbound
from frontdesk.desk.errors import Invalid
from frontdesk.desk.models import Message
from frontdesk.desk.search import search_conversations
from tests.factories import ChannelFactory, receive

pytestmark = pytest.mark.django_db


def numbers(tenant, query, **kwargs):  # type: ignore[no-untyped-def]
    return [hit.number for hit in search_conversations(tenant.pk, query, **kwargs).hits]


@pytest.fixture
def form(tenant):  # type: ignore[no-untyped-def]
    return ChannelFactory(tenant=tenant, kind="form", name="Contact form")


def test_a_reference_number_finds_its_conversation(api_channel):
    receive(api_channel, "Gdzie jest paczka?", email="a@example.org")
    second = receive(api_channel, "Faktura", email="b@example.org")

    assert numbers(second.tenant, f"#{second.number}") == [second.number]
    assert numbers(second.tenant, str(second.number))[0] == second.number


def test_bare_digits_also_find_an_order_number_in_a_message(api_channel):
    first = receive(api_channel, "Zamówienie 2 nie dotarło", email="a@example.org")
    second = receive(api_channel, "Hello", email="b@example.org")

    assert numbers(first.tenant, "2") == [second.number, first.number]


def test_an_email_address_finds_the_customers_conversations(form):
    mine = [
        receive(form, "one", email="Ola.Nowak@example.org"),
        receive(form, "two", email="ola.nowak@example.org"),
    ]
    receive(form, "three", email="someone@example.org")

    page = search_conversations(form.tenant_id, "OLA.NOWAK@example.org")

    assert sorted(hit.number for hit in page.hits) == sorted(c.number for c in mine)
    assert {hit.matched for hit in page.hits} == {"customer"}
    assert "<mark>ola.nowak@example.org</mark>" in page.hits[0].snippet_html


def test_a_phone_number_in_any_spelling_finds_the_customer(tenant, api_channel):
    conversation = do_receive_inbound(
        api_channel,
        InboundMessage(
            dedupe_key="k1",
            contact=InboundContact(name="Piotr", external_id="KL-1", phone="+48 601 234 567"),
            text="Dzień dobry",
        ),
    ).conversation

    assert numbers(tenant, "601-234-567") == [conversation.number]
    assert numbers(tenant, "+48601234567") == [conversation.number]
    assert numbers(tenant, "KL-1") == [conversation.number]


def test_part_of_a_name_finds_the_customer_regardless_of_case_and_diacritics(tenant, form):
    conversation = receive(form, "Pytanie o rower", name="Łucja Żółkiewska", email="lucja@example.org")
    receive(form, "Inne pytanie", name="Jan Kowalski", email="jan@example.org")

    page = search_conversations(tenant.pk, "lucja zolk")

    assert [hit.number for hit in page.hits] == [conversation.number]
    assert page.hits[0].matched == "customer"
    assert page.hits[0].snippet_html == "<mark>Łucja</mark> <mark>Żółkiewska</mark>"


def test_words_find_customer_messages_replies_and_internal_notes(tenant, api_channel, agent):
    asked = receive(api_channel, "Czy mogę zwrócić kask?", external_id="KL-1", email="a@example.org")
    answered = receive(api_channel, "Dzień dobry", external_id="KL-2", email="b@example.org")
    do_reply(agent, answered, "Wysłaliśmy nowy kod rabatowy WIOSNA15.")
    noted = receive(api_channel, "Dzień dobry", external_id="KL-3", email="c@example.org")
    do_add_note(agent, noted, "Klient z reklamacją roweru, zadzwonić jutro.")

    assert numbers(tenant, "kask") == [asked.number]
    assert numbers(tenant, "wiosna15") == [answered.number]
    assert numbers(tenant, "reklamacja") == [noted.number]


def test_every_word_must_match(tenant, form):
    both = receive(form, "Paczka przyszła uszkodzona", email="a@example.org")
    receive(form, "Paczka nie przyszła", email="b@example.org")

    assert numbers(tenant, "paczka uszkodzona") == [both.number]


def test_the_beginning_of_a_word_and_inflected_forms_match(tenant, form):
    conversation = receive(
        form, "Nie dostałem jeszcze paczki ani faktury za zamówienie.", email="a@example.org"
    )

    for query in ("paczk", "paczka", "PACZKI", "faktura", "fakturę", "zamowienia", "dostalem"):
        assert numbers(tenant, query) == [conversation.number], query


def test_the_subject_is_searched_too(tenant, form):
    conversation = receive(form, "Treść", subject="Reklamacja butów trekkingowych", email="a@example.org")

    page = search_conversations(tenant.pk, "trekkingowe")

    assert [hit.number for hit in page.hits] == [conversation.number]
    assert page.hits[0].snippet_html == "Reklamacja butów <mark>trekkingowych</mark>"


def test_the_newest_match_comes_first(tenant, form, agent):
    old = receive(form, "rower górski", email="a@example.org")
    new = receive(form, "rower miejski", email="b@example.org")
    middle = receive(form, "rower szosowy", email="c@example.org")
    assert numbers(tenant, "rower") == [middle.number, new.number, old.number]

    do_reply(agent, old, "Rower wyślemy jutro.")  # a newer match: first now
    do_reply(agent, middle, "Dziękujemy za cierpliwość.")  # newer, but no match: stays

    assert numbers(tenant, "rower") == [old.number, middle.number, new.number]


def test_a_conversation_comes_once_at_its_newest_match_on_any_page(tenant, form, agent):
    first = receive(form, "paczka nie doszła", email="a@example.org")
    second = receive(form, "paczka uszkodzona", email="b@example.org")
    for text in ("paczka jest u kuriera", "paczka dotrze jutro", "paczka doręczona"):
        do_reply(agent, first, text)
    third = receive(form, "gdzie moja paczka", email="c@example.org")

    pages = [walk(tenant, "paczka", limit=limit) for limit in (1, 2, 3, 20)]

    for seen, _count in pages:
        assert seen == [third.number, first.number, second.number]


def test_subjects_and_customer_names_count_as_the_first_message(tenant, form):
    by_subject = receive(form, "Treść", subject="Reklamacja kasku", email="a@example.org")
    by_message = receive(form, "Reklamacja roweru", email="b@example.org")
    by_name = receive(form, "Dzień dobry", email="c@example.org", name="Jan Reklamacja")
    receive(form, "Inna sprawa", email="d@example.org")

    seen, _count = walk(tenant, "reklamacja", limit=1)

    assert seen == [by_name.number, by_message.number, by_subject.number]


def walk(tenant, query, *, limit):  # type: ignore[no-untyped-def]
    """Every page of a newest-first search, following next_cursor: (numbers, pages)."""
    seen, cursor, pages = [], None, 0
    while True:
        page = search_conversations(tenant.pk, query, limit=limit, before=cursor)
        seen += [hit.number for hit in page.hits]
        pages += 1
        cursor = page.next_cursor
        if cursor is None or pages > 50:
            return seen, pages


def test_pages_continue_with_the_cursor_without_repeats_or_gaps(tenant, form):
    created = [receive(form, f"zwrot numer {i}", email=f"c{i}@example.org") for i in range(7)]

    seen, pages = walk(tenant, "zwrot", limit=3)

    assert seen == [c.number for c in reversed(created)]
    assert pages == 3


def test_a_malformed_cursor_is_invalid_input(tenant):
    for cursor in ("nonsense", "1_", "n1_", "n99999999999999999999_1", "n-5_3", "nx_x_1", "b0_1.0_1_1"):
        with pytest.raises(Invalid):
            search_conversations(tenant.pk, "zwrot", before=cursor)


def test_another_shops_conversations_are_never_found(tenant, api_channel, other_tenant, outsider):
    elsewhere = ChannelFactory(tenant=other_tenant, kind="form")
    receive(
        elsewhere, "Tajna reklamacja #1", email="jan@example.org", name="Jan Tajny", subject="Tajny temat"
    )
    mine = receive(api_channel, "Zwykła sprawa", email="ola@example.org", name="Ola")

    for query in ("tajna", "tajny", "jan@example.org", "Jan", "temat", "reklamacja"):
        assert numbers(tenant, query) == [], query
    assert numbers(tenant, "#1") == [mine.number]
    assert search_conversations(tenant.pk, "#1").hits[0].conversation.tenant_id == tenant.pk


def test_the_index_follows_edits_merges_and_deletions(tenant, form, owner):
    first = receive(form, "Stary tekst", subject="Pytanie", email="a@example.org", name="Anna Nowak")
    second = receive(form, "Drugi temat o fakturze", email="a@example.org", name="Anna Nowak")
    Message.objects.filter(conversation=first).update(text="Nowy tekst o kaloszach")

    assert numbers(tenant, "stary") == []
    assert numbers(tenant, "kalosze") == [first.number]

    do_merge(owner, second, first)
    assert numbers(tenant, "faktura") == [first.number]
    assert numbers(tenant, f"#{second.number}") == [second.number]  # still reachable by number

    do_update_customer(owner, first.customer, {"name": "Anna Kowalczyk"})
    assert numbers(tenant, "nowak") == []
    assert numbers(tenant, "kowalczyk") == [first.number]

    Message.objects.filter(conversation=first).delete()
    assert numbers(tenant, "kalosze") == []


def test_a_merged_conversation_shows_only_by_number(tenant, form, owner):
    source = receive(form, "Pierwsza wiadomość o rowerze", email="a@example.org")
    target = receive(form, "Druga wiadomość", email="a@example.org")
    do_merge(owner, source, target)

    assert numbers(tenant, "rowerze") == [target.number]


XSS = [
    "<script>alert('x')</script> zwrot",
    'zwrot <img src=x onerror="alert(1)">',
    "zwrot </mark><script>alert(1)</script><mark>",
    "zwrot \ue000<b>bold</b>\ue001",
]


@pytest.mark.parametrize("text", XSS)
def test_snippets_escape_whatever_the_customer_wrote(tenant, form, text):
    receive(form, text, email="x@example.org", name="<img src=x onerror=alert(1)>")

    for query in ("zwrot", "img", "onerror"):
        for hit in search_conversations(tenant.pk, query).hits:
            html = str(hit.snippet_html)
            without_marks = html.replace("<mark>", "").replace("</mark>", "")
            assert "<" not in without_marks, (query, html)
            assert html.count("<mark>") == html.count("</mark>")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    query=st.text(max_size=300)
    | st.sampled_from(['"', "'", "*", "-", "(", ")", "AND OR NOT", "NEAR(a b)", "a:*", "\\", "%", "x" * 5000])
)
def test_no_query_causes_a_database_error(tenant, form, query):
    receive(form, "Zwrot paczki", email="a@example.org", key="hypothesis-fixed")

    page = search_conversations(tenant.pk, query, limit=5)

    assert len(page.hits) <= 5
    # The connection is still usable afterwards (no aborted transaction on PostgreSQL).
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
