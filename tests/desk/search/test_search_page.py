"""The search results page an agent reaches from the search box."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from frontdesk.desk.actions.conversations import do_add_note
from frontdesk.desk.models import Conversation
from tests.factories import ChannelFactory, receive

pytestmark = pytest.mark.django_db


@pytest.fixture
def form(tenant):  # type: ignore[no-untyped-def]
    return ChannelFactory(tenant=tenant, kind="form", name="Formularz")


@pytest.fixture
def signed_in(client, agent):  # type: ignore[no-untyped-def]
    client.force_login(agent.user)
    return client


def search_page(client, tenant, **params):  # type: ignore[no-untyped-def]
    return client.get(reverse("search", args=[tenant.slug]), params)


def test_an_agent_sees_matching_conversations_with_highlighted_snippets(signed_in, tenant, form, agent):
    conversation = receive(
        form, "Paczka nie dotarła", subject="Dostawa", email="jan@example.org", name="Jan Nowak"
    )
    do_add_note(agent, conversation, "Kurier zgubił przesyłkę, reklamacja w DPD.")
    receive(form, "Inna sprawa", email="ola@example.org", name="Ola")

    response = search_page(signed_in, tenant, q="przesylka")

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('data-testid="search-hit"') == 1
    assert f"#{conversation.number}" in html
    assert "Jan Nowak" in html
    assert "Dostawa" in html
    assert "<mark>przesyłkę</mark>" in html
    assert "New" in html  # the status
    assert reverse("conversation", args=[tenant.slug, conversation.number]) in html


def test_the_query_stays_in_the_search_box(signed_in, tenant):
    html = search_page(signed_in, tenant, q='zwrot "kasku"').content.decode()

    assert 'value="zwrot &quot;kasku&quot;"' in html


def test_nothing_found_says_so(signed_in, tenant, form):
    receive(form, "Paczka", email="jan@example.org")

    response = search_page(signed_in, tenant, q="hulajnoga")

    assert response.status_code == 200
    assert 'data-testid="search-no-results"' in response.content.decode()


def test_an_empty_query_explains_what_can_be_searched(signed_in, tenant):
    response = search_page(signed_in, tenant, q="")

    assert response.status_code == 200
    assert 'data-testid="search-empty-query"' in response.content.decode()


def test_results_come_a_page_at_a_time(signed_in, tenant, form, monkeypatch):
    monkeypatch.setattr("frontdesk.desk.views.search.PAGE_SIZE", 2)
    conversations = [receive(form, f"faktura {i}", email=f"c{i}@example.org") for i in range(3)]
    for days, conversation in enumerate(reversed(conversations)):
        Conversation.objects.filter(pk=conversation.pk).update(
            last_message_at=timezone.now() - dt.timedelta(days=days)
        )

    first = search_page(signed_in, tenant, q="faktura")
    cursor = first.context["page"].next_cursor
    second = search_page(signed_in, tenant, q="faktura", before=cursor)

    assert [h.number for h in first.context["page"].hits] == [3, 2]
    assert 'data-testid="search-next"' in first.content.decode()
    assert [h.number for h in second.context["page"].hits] == [1]
    assert 'data-testid="search-next"' not in second.content.decode()


def test_a_broken_page_link_is_a_clear_400(signed_in, tenant):
    response = search_page(signed_in, tenant, q="faktura", before="garbage")

    assert response.status_code == 400
    assert 'data-testid="search-error"' in response.content.decode()


def test_customer_text_is_shown_escaped(signed_in, tenant, form):
    receive(
        form,
        'Zwrot <script>alert("x")</script> <img src=x onerror=alert(1)>',
        subject="<b>Zwrot</b>",
        email="jan@example.org",
        name="<img src=y onerror=alert(2)>",
    )

    html = search_page(signed_in, tenant, q="zwrot onerror").content.decode()

    assert 'data-testid="search-hit"' in html
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "<img src=y" not in html
    assert "<b>Zwrot</b>" not in html


def test_a_member_of_another_shop_gets_404_and_finds_nothing_of_ours(client, tenant, form, outsider):
    receive(form, "Tajna reklamacja", email="jan@example.org")
    client.force_login(outsider.user)

    assert search_page(client, tenant, q="reklamacja").status_code == 404
    own = search_page(client, outsider.tenant, q="reklamacja")
    assert own.status_code == 200
    assert own.context["page"].hits == []


def test_signing_in_is_required(client, tenant):
    response = search_page(client, tenant, q="zwrot")

    assert response.status_code == 302
    assert reverse("login") in response["Location"]
