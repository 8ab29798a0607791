"""What each database backend adds: the Polish dictionary on PostgreSQL (and search without it),
and SQLite's triggers surviving migrations that rebuild tables."""

from __future__ import annotations

import pytest
from django.db import connection

from frontdesk.desk.search import postgres, search_conversations
from frontdesk.desk.search.signals import restore_search_triggers
from tests.factories import ChannelFactory, receive

pytestmark = pytest.mark.django_db

on_postgres = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only")
on_sqlite = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite only")


def numbers(tenant, query):  # type: ignore[no-untyped-def]
    return [hit.number for hit in search_conversations(tenant.pk, query).hits]


@pytest.fixture
def form(tenant):  # type: ignore[no-untyped-def]
    return ChannelFactory(tenant=tenant, kind="form")


def drop_polish_configuration() -> None:
    """Inside the test's transaction: rolled back afterwards."""
    with connection.cursor() as cursor:
        cursor.execute("DROP TEXT SEARCH CONFIGURATION IF EXISTS frontdesk_pl")
        cursor.execute("DROP TEXT SEARCH DICTIONARY IF EXISTS polish_hunspell")


@on_postgres
def test_with_the_polish_dictionary_inflected_forms_find_each_other(tenant, form):
    if not postgres.polish_available(connection):
        pytest.skip("the server has no Polish dictionary files (run scripts/install-polish-fts.sh)")
    parcel = receive(form, "Gdzie jest moja paczka?", email="a@example.org", language="pl")
    refund = receive(form, "Proszę o zwrot pieniędzy.", email="b@example.org", language="pl")

    # Neither is a prefix of the other: only the dictionary knows they are one word.
    assert numbers(tenant, "paczek") == [parcel.number]
    assert numbers(tenant, "zwrotów") == [refund.number]
    hit = search_conversations(tenant.pk, "paczek").hits[0]
    assert "<mark>paczka</mark>" in hit.snippet_html


@on_postgres
def test_without_the_polish_dictionary_search_works_on_prefixes(tenant, form):
    indexed_before = receive(form, "Paczka przyszła uszkodzona", email="a@example.org", language="pl")
    drop_polish_configuration()
    indexed_after = receive(form, "Czekam na paczkę od tygodnia", email="b@example.org", language="pl")

    assert sorted(numbers(tenant, "paczki")) == sorted([indexed_before.number, indexed_after.number])
    assert numbers(tenant, "uszkodzony") == [indexed_before.number]
    assert numbers(tenant, "tygodni") == [indexed_after.number]
    assert numbers(tenant, "paczek") == []  # the honest difference: no dictionary, no "paczek"


@on_postgres
def test_the_dictionary_is_created_only_when_the_server_has_its_files(tenant):
    drop_polish_configuration()

    assert postgres.ensure_polish_config(connection, dictionary_file="no_such_dictionary") is False
    assert postgres.polish_available(connection) is False
    with connection.cursor() as cursor:  # the transaction is still usable
        cursor.execute("SELECT 1")
    if postgres.ensure_polish_config(connection):
        assert postgres.polish_available(connection)


@on_postgres
def test_rebuilding_the_index_keeps_search_working(tenant, form):
    conversation = receive(form, "Kod rabatowy nie działa", email="a@example.org", name="Ewa Zielińska")

    postgres.rebuild(connection)

    assert numbers(tenant, "rabatowy") == [conversation.number]
    assert numbers(tenant, "zielinska") == [conversation.number]


@on_sqlite
def test_triggers_dropped_by_a_table_rebuild_come_back_after_migrate(tenant, form):
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER desk_search_message_insert")

    restore_search_triggers(sender=None, using="default")
    conversation = receive(form, "Rower przyjechał porysowany", email="a@example.org")

    assert numbers(tenant, "porysowany") == [conversation.number]


@on_sqlite
def test_a_prefix_finds_words_that_arrive_later_through_the_word_list(tenant, form):
    receive(form, "Pytanie o kask", email="a@example.org")
    later = receive(form, "Kaskada błędów w aplikacji", email="b@example.org")

    assert numbers(tenant, "kaskad") == [later.number]
    with connection.cursor() as cursor:
        cursor.execute("SELECT word FROM desk_search_word WHERE word LIKE 'kask%' ORDER BY word")
        assert [row[0] for row in cursor.fetchall()] == ["kask", "kaskada"]


@on_sqlite
def test_a_prefix_of_very_many_words_still_finds_them_all(tenant, form):
    letters = "abcdefghij"
    words = [f"kask{a}{b}" for a in letters for b in letters]  # 100 words: more than are written out
    for i in range(0, len(words), 25):
        receive(form, " ".join(words[i : i + 25]), email=f"c{i}@example.org")

    assert len(numbers(tenant, "kask")) == 4
    assert len(numbers(tenant, "kaskj")) == 1


@on_sqlite
def test_an_old_index_without_the_tenant_column_is_made_again_on_migrate(tenant, form):
    conversation = receive(form, "Zgubiona przesyłka", subject="Przesyłka", email="a@example.org", name="Ola")
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE desk_search_message")
        cursor.execute("CREATE VIRTUAL TABLE desk_search_message USING fts5(body)")

    restore_search_triggers(sender=None, using="default")

    assert numbers(tenant, "zgubiona") == [conversation.number]


def test_the_shop_itself_is_not_a_word_to_find(tenant, form, other_tenant):
    receive(form, "Zwykła sprawa", email="a@example.org")
    receive(ChannelFactory(tenant=other_tenant, kind="form"), "Inna sprawa", email="b@example.org")

    for query in (f"t{tenant.pk}", f"t{other_tenant.pk}", "tenant"):
        assert numbers(tenant, query) == [], query
