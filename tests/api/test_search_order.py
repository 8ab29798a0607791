"""GET /conversations?q=…&order=best: search results best match first through the API.

.venv/bin/pytest -q tests/api/test_search_order.py
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from frontdesk.desk.models import Conversation
from tests.api.conftest import error_of
from tests.factories import receive

LONG = (
    "Hello, the order arrived yesterday, the courier was kind, the invoice was in the box and "
    "everything is fine. One more question: do you sell a helmet for a child? Kind regards."
)


def numbers(response) -> list[int]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.content
    return [c["number"] for c in response.json()["items"]]


@pytest.fixture
def sparse(api_channel, dense):  # type: ignore[no-untyped-def]
    """Newer than `dense`: it arrives after it."""
    return receive(api_channel, LONG, subject="Question", email="a@example.org", external_id="c-1")


@pytest.fixture
def dense(api_channel):  # type: ignore[no-untyped-def]
    conversation = receive(
        api_channel,
        "The helmet cracked. Helmet under warranty, helmet to replace.",
        subject="Broken",
        email="b@example.org",
        external_id="c-2",
    )
    Conversation.objects.filter(pk=conversation.pk).update(
        last_message_at=timezone.now() - dt.timedelta(days=30)
    )
    return conversation


def test_order_best_puts_the_best_match_first(owner_api, sparse, dense):
    assert numbers(owner_api.get("/conversations", {"q": "helmet"})) == [sparse.number, dense.number]
    assert numbers(owner_api.get("/conversations", {"q": "helmet", "order": "newest"})) == [
        sparse.number,
        dense.number,
    ]
    assert numbers(owner_api.get("/conversations", {"q": "helmet", "order": "best"})) == [
        dense.number,
        sparse.number,
    ]


def test_best_match_pages_show_every_conversation_once(owner_api, api_channel):
    for n in range(5):
        receive(
            api_channel,
            " ".join(["complaint"] * (n % 3 + 1)),
            subject=f"Case {n}",
            email=f"r{n}@example.org",
            external_id=f"r-{n}",
        )
    everything = numbers(owner_api.get("/conversations", {"q": "complaint", "order": "best", "limit": 100}))

    walked = [
        c["number"] for c in owner_api.walk("/conversations", {"q": "complaint", "order": "best", "limit": 2})
    ]

    assert walked == everything
    assert sorted(walked) == [1, 2, 3, 4, 5]


def test_order_without_q_is_a_clear_422(owner_api, sparse):
    for order in ("best", "newest"):
        response = owner_api.get("/conversations", {"order": order})
        assert response.status_code == 422
        assert list(error_of(response)["fields"]) == ["order"]


def test_an_unknown_order_is_a_422(owner_api, sparse):
    response = owner_api.get("/conversations", {"q": "helmet", "order": "relevance"})

    assert response.status_code == 422
    assert "order" in str(error_of(response))


def test_order_best_still_refuses_filters_and_sorts(owner_api, sparse):
    response = owner_api.get(
        "/conversations", {"q": "helmet", "order": "best", "sort": "-number", "status": "new"}
    )

    assert response.status_code == 422
    assert set(error_of(response)["fields"]) == {"status", "sort"}


def test_a_cursor_of_the_other_order_is_refused(owner_api, sparse, dense):
    newest_cursor = owner_api.get("/conversations", {"q": "helmet", "limit": 1}).json()["next_cursor"]
    best_cursor = owner_api.get("/conversations", {"q": "helmet", "limit": 1, "order": "best"}).json()[
        "next_cursor"
    ]

    for params in (
        {"q": "helmet", "order": "best", "cursor": newest_cursor},
        {"q": "helmet", "cursor": best_cursor},
        {"q": "helmet", "order": "best", "cursor": "garbage"},
    ):
        response = owner_api.get("/conversations", params)
        assert response.status_code == 422, params
        assert error_of(response)["code"] == "invalid_cursor"
        assert list(error_of(response)["fields"]) == ["cursor"]


def test_best_match_never_finds_another_shops_conversations(outsider_api, dense):
    assert outsider_api.get("/conversations", {"q": "helmet", "order": "best"}).json()["items"] == []
    assert outsider_api.get("/conversations", {"q": "b@example.org", "order": "best"}).json()["items"] == []
