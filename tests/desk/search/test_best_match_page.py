"""The "Newest first | Best match" switch on the search results page (order=best in the address).

.venv/bin/pytest -q tests/desk/search/test_best_match_page.py
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

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


def hits(response):  # type: ignore[no-untyped-def]
    return [hit.number for hit in response.context["page"].hits]


@pytest.fixture
def sparse_and_dense(form):  # type: ignore[no-untyped-def]
    """(newer conversation mentioning "kask" once in a long message, older one about a kask)."""
    dense = receive(
        form, "Kask pękł, kask z gwarancją, kask do wymiany.", subject="Kask", email="b@example.org"
    )
    Conversation.objects.filter(pk=dense.pk).update(last_message_at=timezone.now() - dt.timedelta(days=30))
    sparse = receive(
        form,
        "Dzień dobry, zamówienie dotarło wczoraj, kurier był miły, faktura w paczce, wszystko dobrze. "
        "Mam jeszcze pytanie, czy sprzedajecie kask dla dziecka? Pozdrawiam serdecznie.",
        subject="Pytanie",
        email="a@example.org",
    )
    return sparse, dense


def test_results_come_newest_first_with_a_switch_to_best_match(signed_in, tenant, sparse_and_dense):
    sparse, dense = sparse_and_dense

    response = search_page(signed_in, tenant, q="kask")

    html = response.content.decode()
    assert response.status_code == 200
    assert hits(response) == [sparse.number, dense.number]
    assert 'data-testid="search-order"' in html
    assert 'href="?q=kask" data-testid="search-order-newest" aria-current="true"' in html
    assert 'href="?q=kask&amp;order=best" data-testid="search-order-best">' in html


def test_best_match_puts_the_denser_match_first_and_says_which_order_is_on(
    signed_in, tenant, sparse_and_dense
):
    sparse, dense = sparse_and_dense

    response = search_page(signed_in, tenant, q="kask", order="best")

    html = response.content.decode()
    assert response.status_code == 200
    assert hits(response) == [dense.number, sparse.number]
    assert 'data-testid="search-order-best" aria-current="true"' in html
    assert 'data-testid="search-order-newest">' in html
    assert "<mark>Kask</mark>" in html


def test_the_next_page_link_keeps_best_match(signed_in, tenant, form, monkeypatch):
    monkeypatch.setattr("frontdesk.desk.views.search.PAGE_SIZE", 2)
    created = [
        receive(form, " ".join(["faktura"] * (i + 1)), subject=f"Sprawa {i}", email=f"c{i}@example.org")
        for i in range(3)
    ]

    first = search_page(signed_in, tenant, q="faktura", order="best")
    cursor = first.context["page"].next_cursor
    html = first.content.decode()
    second = search_page(signed_in, tenant, q="faktura", order="best", before=cursor)

    assert f"?q=faktura&amp;order=best&amp;before={cursor}" in html
    assert "More results" in html
    assert hits(first) + hits(second) == [c.number for c in reversed(created)]
    assert 'data-testid="search-next"' not in second.content.decode()
    assert 'href="?q=faktura&amp;order=best">First page</a>' in second.content.decode()


def test_a_broken_best_match_page_link_is_a_clear_400_that_keeps_the_order(signed_in, tenant):
    response = search_page(signed_in, tenant, q="faktura", order="best", before="1700000000000000_3")

    html = response.content.decode()
    assert response.status_code == 400
    assert 'data-testid="search-error"' in html
    assert 'href="?q=faktura&amp;order=best">' in html


def test_an_unknown_order_is_newest_first(signed_in, tenant, sparse_and_dense):
    sparse, dense = sparse_and_dense

    response = search_page(signed_in, tenant, q="kask", order="<script>")

    assert response.status_code == 200
    assert hits(response) == [sparse.number, dense.number]
    assert 'data-testid="search-order-newest" aria-current="true"' in response.content.decode()


def test_no_switch_without_a_query(signed_in, tenant):
    html = search_page(signed_in, tenant, q="").content.decode()

    assert 'data-testid="search-order"' not in html


def test_best_match_finds_nothing_of_another_shop(client, tenant, form, outsider):
    receive(form, "Tajna reklamacja reklamacja", email="jan@example.org")
    client.force_login(outsider.user)

    assert search_page(client, tenant, q="reklamacja", order="best").status_code == 404
    own = search_page(client, outsider.tenant, q="reklamacja", order="best")
    assert own.status_code == 200
    assert own.context["page"].hits == []
